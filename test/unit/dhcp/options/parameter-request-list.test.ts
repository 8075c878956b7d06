import { describe, expect, it } from 'vitest';
import { parameterRequestList } from '../../../../dhcp/options/parameter-request-list.js';

describe('option 55 parameter request list', () => {
  it('is a list of codes in the client order', () => {
    expect(parameterRequestList.decode(Buffer.from([1, 121, 3, 6, 15, 119, 26]))).toEqual([1, 121, 3, 6, 15, 119, 26]);
    expect([...parameterRequestList.encode([1, 3, 6])]).toEqual([1, 3, 6]);
  });
  it('drops duplicates, pad and end codes', () => {
    expect(parameterRequestList.decode(Buffer.from([3, 0, 3, 255, 6]))).toEqual([3, 6]);
  });
  it('refuses empty lists and invalid codes', () => {
    expect(() => parameterRequestList.decode(Buffer.alloc(0))).toThrow(/empty/);
    expect(() => parameterRequestList.encode([])).toThrow(/empty/);
    expect(() => parameterRequestList.encode([255])).toThrow(/1\.\.254/);
  });
});
