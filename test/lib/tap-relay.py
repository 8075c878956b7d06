# A "VM" on a TAP without a VM: attaches to the TAP named argv[1] as QEMU does (TUNSETIFF,
# IFF_TAP | IFF_NO_PI) and copies every Ethernet frame between it and the interface argv[2]
# (one end of a veth whose other end lives in a "guest" namespace), both ways. A real DHCP
# client on the guest's end then talks to whatever serves the TAP's bridge. Python's standard
# library only. Prints "relaying" once both ends are open; runs until killed.
import fcntl
import os
import select
import socket
import struct
import sys

TUNSETIFF = 0x400454CA
IFF_TAP, IFF_NO_PI = 0x0002, 0x1000
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4

tap_name, if_name = sys.argv[1], sys.argv[2]
tap = os.open('/dev/net/tun', os.O_RDWR)
fcntl.ioctl(tap, TUNSETIFF, struct.pack('16sH', tap_name.encode(), IFF_TAP | IFF_NO_PI))
pkt = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
pkt.bind((if_name, 0))
print('relaying', flush=True)

while True:
    ready, _, _ = select.select([tap, pkt], [], [])
    if tap in ready:
        frame = os.read(tap, 65536)
        pkt.send(frame)
    if pkt in ready:
        frame, addr = pkt.recvfrom(65536)
        # The packet socket also sees what it sent itself: relaying that back would loop.
        if addr[2] != PACKET_OUTGOING:
            os.write(tap, frame)
