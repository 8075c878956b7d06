// The DHCPv6 network of issue 10, verbatim as the issue wrote it: the e2e test applies this
// text to the real agent, the unit test validates it, so both read the same bytes.
export const ISSUE_YAML = `
networks:
  - name: v6
    ipFamily: IPV6
    cidr: fd00:77::/64
    gateway: fd00:77::1
    gatewayOnBridge: true
    ipv6Mode: DHCPV6_STATEFUL      # SLAAC (default) | DHCPV6_STATELESS | DHCPV6_STATEFUL
    dhcp:
      enabled: true
      pools: [{ start: "fd00:77::100", end: "fd00:77::1ff" }]
      dnsServers: ["fd00:77::53"]
      searchDomains: [v6.example]
      routes: [{ destination: "fd00:99::/48", via: "fd00:77::fe" }]
      leaseSeconds: 3600
`;
