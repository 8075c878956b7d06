// Issue 9's security group and port security, verbatim as the issue wrote them (YAML, indented
// for a desired state's securityGroups list and an attachment): the e2e test applies them to
// the real agent, the unit test validates them, so both read the same text.

/** The group "web", an item of `securityGroups:`. */
export const ISSUE9_WEB_GROUP = `  - name: web
    rules:
      - { direction: INGRESS, protocol: TCP, fromPort: 80, toPort: 80, remoteCidr: 0.0.0.0/0 }
      - { direction: INGRESS, protocol: ANY, remoteGroup: web }
      - { direction: INGRESS, protocol: ICMP }
      - { direction: EGRESS, protocol: ANY }`;

/** The attachment's portSecurity block (in group web, one allowed address pair). */
export const ISSUE9_PORT_SECURITY = `    portSecurity:
      enabled: true
      securityGroups: [web]
      allowedAddressPairs: [{ ip: 10.70.0.200 }]`;
