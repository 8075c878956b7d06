// Option 121/249 (RFC 3442): byte-exact against the RFC's destination encodings.
import { describe, expect, it } from 'vitest';
import { classlessRoutes, msClasslessRoutes } from '../../../../dhcp/options/classless-routes.js';

const R = [192, 168, 1, 1];

describe('option 121 classless static routes', () => {
  it.each([
    ['0.0.0.0/0', [0]],
    ['10.0.0.0/8', [8, 10]],
    ['10.17.0.0/16', [16, 10, 17]],
    ['10.27.129.0/24', [24, 10, 27, 129]],
    ['10.229.0.128/25', [25, 10, 229, 0, 128]],
    ['10.198.122.47/32', [32, 10, 198, 122, 47]],
  ])('%s encodes as RFC 3442 section 3 shows, and decodes back', (destination, bytes) => {
    const encoded = classlessRoutes.encode([{ destination, via: '192.168.1.1' }]);
    expect([...encoded]).toEqual([...bytes, ...R]);
    expect(classlessRoutes.decode(encoded)).toEqual([{ destination, via: '192.168.1.1' }]);
  });

  it('several routes in order, default route included', () => {
    const routes = [
      { destination: '10.10.0.0/16', via: '192.168.10.1' },
      { destination: '0.0.0.0/0', via: '192.168.10.1' },
    ];
    const b = classlessRoutes.encode(routes);
    expect(b.toString('hex')).toBe('100a0ac0a80a0100c0a80a01');
    expect(classlessRoutes.decode(b)).toEqual(routes);
  });

  it('clears host bits of the destination on encode and decode', () => {
    expect([...classlessRoutes.encode([{ destination: '10.1.2.3/8', via: '0.0.0.0' }])]).toEqual([8, 10, 0, 0, 0, 0]);
    expect(classlessRoutes.decode(Buffer.from([9, 10, 255, 1, 2, 3, 4]))).toEqual([{ destination: '10.128.0.0/9', via: '1.2.3.4' }]);
  });

  it('rejects malformed payloads and bad values', () => {
    expect(() => classlessRoutes.decode(Buffer.from([33, 1, 2, 3, 4, 5, 6, 7, 8]))).toThrow(/prefix length 33/);
    expect(() => classlessRoutes.decode(Buffer.from([24, 10, 0, 0, 1, 2, 3]))).toThrow(/runs past the end/);
    expect(() => classlessRoutes.decode(Buffer.alloc(0))).toThrow(/no routes/);
    expect(() => classlessRoutes.encode([{ destination: '10.0.0.0', via: '1.1.1.1' }])).toThrow(/option 121/);
    expect(() => classlessRoutes.encode([{ destination: '10.0.0.0/8', via: 'x' }])).toThrow(/router "x"/);
  });

  it('249 carries the same bytes under its own code', () => {
    const routes = [{ destination: '172.16.0.0/12', via: '10.0.0.1' }];
    expect(msClasslessRoutes.code).toBe(249);
    expect(msClasslessRoutes.encode(routes)).toEqual(classlessRoutes.encode(routes));
  });
});
