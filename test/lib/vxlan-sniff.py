#!/usr/bin/python3
# An independent witness of what crosses a VXLAN underlay: an AF_PACKET socket in the
# underlay's namespace sees every frame arriving on any of its devices, decodes outer
# IPv4/UDP 4789 + VXLAN + the inner Ethernet frame by hand (not with the code under test), and
# counts the inner frames by kind: dhcp4 (UDP 67/68), dhcp6 (UDP 546/547), rsra (ICMPv6 133/134),
# icmp4, other. Runs until SIGTERM, then prints one JSON line: counts and a few samples.
#   ip netns exec UNDERLAY /usr/bin/python3 vxlan-sniff.py [SKIP_IFNAME...]
# Frames arriving on the devices named (e.g. the bridge itself, which sees flooded copies) are
# not counted, so each frame counts once: on the bridge port it entered by.
import json
import signal
import socket
import struct
import sys

ETH_P_ALL = 3
PACKET_OUTGOING = 4
VXLAN_PORT = 4789

skip = set(sys.argv[1:])
counts = {"vxlan": 0, "dhcp4": 0, "dhcp6": 0, "rsra": 0, "icmp4": 0, "other": 0}
samples = []
stop = False


def on_term(_sig, _frame):
    global stop
    stop = True


def mac(b):
    return ":".join("%02x" % x for x in b)


def ip4(b):
    return ".".join(str(x) for x in b)


def inner_kind(f):
    """The kind of an inner Ethernet frame, and its ports or ICMPv6 type for a sample."""
    if len(f) < 14:
        return "other", None
    etype = struct.unpack("!H", f[12:14])[0]
    p = f[14:]
    if etype == 0x0800 and len(p) >= 20:
        ihl = (p[0] & 15) * 4
        proto = p[9]
        if proto == 1:
            return "icmp4", None
        if proto == 17 and len(p) >= ihl + 4:
            sport, dport = struct.unpack("!HH", p[ihl:ihl + 4])
            if sport in (67, 68) or dport in (67, 68):
                return "dhcp4", [sport, dport]
    elif etype == 0x86DD and len(p) >= 44:
        nh = p[6]
        if nh == 17:
            sport, dport = struct.unpack("!HH", p[40:44])
            if sport in (546, 547) or dport in (546, 547):
                return "dhcp6", [sport, dport]
        elif nh == 58 and p[40] in (133, 134):
            return "rsra", [p[40]]
    return "other", None


def handle(data, ifname):
    if len(data) < 14 + 20 + 8 + 8 or struct.unpack("!H", data[12:14])[0] != 0x0800:
        return
    o = data[14:]
    ihl = (o[0] & 15) * 4
    if o[9] != 17 or len(o) < ihl + 16:
        return
    dport = struct.unpack("!H", o[ihl + 2:ihl + 4])[0]
    if dport != VXLAN_PORT:
        return
    vx = o[ihl + 8:ihl + 16]
    vni = struct.unpack("!I", vx[4:8])[0] >> 8
    inner = o[ihl + 16:]
    counts["vxlan"] += 1
    kind, detail = inner_kind(inner)
    counts[kind] += 1
    if kind in ("dhcp4", "dhcp6", "rsra") and len(samples) < 20:
        samples.append({"kind": kind, "dev": ifname, "outerSrc": ip4(o[12:16]), "outerDst": ip4(o[16:20]),
                        "vni": vni, "innerSrcMac": mac(inner[6:12]), "detail": detail})


def main():
    signal.signal(signal.SIGTERM, on_term)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
    s.settimeout(0.1)
    print("ready", flush=True)
    while not stop:
        try:
            data, addr = s.recvfrom(65535)
        except (socket.timeout, InterruptedError):
            continue
        if addr[2] == PACKET_OUTGOING or addr[0] in skip:
            continue
        handle(data, addr[0])
    print(json.dumps({"counts": counts, "samples": samples}), flush=True)


main()
