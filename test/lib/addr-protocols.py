# Independent witness for IFA_PROTO: iproute2 6.1 (Debian 12) neither sets nor prints an
# address's protocol, so this dumps RTM_GETADDR over a raw netlink socket with Python's
# standard library and prints [{"ifindex", "cidr", "protocol"}] as JSON. Run it inside the
# namespace to look at (`ip netns exec NS /usr/bin/python3 addr-protocols.py`).
import ipaddress
import json
import socket
import struct

RTM_NEWADDR, RTM_GETADDR = 20, 22
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
IFA_ADDRESS, IFA_LOCAL, IFA_PROTO = 1, 2, 11

sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
sock.bind((0, 0))
sock.send(struct.pack('=IHHII', 24, RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, 1, 0) + struct.pack('=BBBBI', 0, 0, 0, 0, 0))
out = []
done = False
while not done:
    data = sock.recv(1 << 16)
    off = 0
    while off + 16 <= len(data):
        length, kind = struct.unpack_from('=IH', data, off)
        if kind == NLMSG_DONE:
            done = True
            break
        if kind == NLMSG_ERROR:
            raise SystemExit('netlink error %d' % struct.unpack_from('=i', data, off + 16)[0])
        if kind == RTM_NEWADDR:
            _family, prefix, _flags, _scope, index = struct.unpack_from('=BBBBI', data, off + 16)
            attrs = {}
            pos = off + 24
            while pos + 4 <= off + length:
                alen, atype = struct.unpack_from('=HH', data, pos)
                if alen < 4:
                    break
                attrs[atype & 0x3fff] = data[pos + 4:pos + alen]
                pos += (alen + 3) & ~3
            raw = attrs.get(IFA_LOCAL) or attrs.get(IFA_ADDRESS)
            if raw:
                proto = attrs.get(IFA_PROTO)
                out.append({'ifindex': index, 'cidr': '%s/%d' % (ipaddress.ip_address(raw), prefix), 'protocol': proto[0] if proto else 0})
        off += (length + 3) & ~3
print(json.dumps(out))
