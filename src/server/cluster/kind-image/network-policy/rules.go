package main

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// MainChain is the filter chain FORWARD and INPUT jump to; per-pod chains hang off it.
const MainChain = "DSL-NETPOL"

// policyTypes is the policy's types, defaulted as the API server does for an object without them.
func policyTypes(p *Policy) (ingress, egress bool) {
	if len(p.Spec.PolicyTypes) == 0 {
		return true, len(p.Spec.Egress) > 0
	}
	return contains(p.Spec.PolicyTypes, "Ingress"), contains(p.Spec.PolicyTypes, "Egress")
}

// ipv4 is the pod's IPv4 address, if it has one (the kind cluster is single-family IPv4).
func ipv4(p *Pod) (netip.Addr, bool) {
	candidates := []string{p.Status.PodIP}
	for _, ip := range p.Status.PodIPs {
		candidates = append(candidates, ip.IP)
	}
	for _, c := range candidates {
		if addr, err := netip.ParseAddr(c); err == nil && addr.Is4() {
			return addr, true
		}
	}
	return netip.Addr{}, false
}

// inPodNetwork says whether policies apply to the pod and its address stands for it alone: not
// on the host's network (whose address is the node's), not finished, and with an address.
func inPodNetwork(p *Pod) bool {
	_, ok := ipv4(p)
	return ok && !p.Spec.HostNetwork && p.Status.Phase != "Succeeded" && p.Status.Phase != "Failed"
}

// world is the snapshot indexed for one round.
type world struct {
	pods            []*Pod
	namespaceLabels map[string]map[string]string
	policies        []*Policy
}

func newWorld(s *Snapshot) *world {
	w := &world{namespaceLabels: map[string]map[string]string{}}
	for i := range s.Pods {
		if inPodNetwork(&s.Pods[i]) {
			w.pods = append(w.pods, &s.Pods[i])
		}
	}
	for _, ns := range s.Namespaces {
		w.namespaceLabels[ns.Metadata.Name] = ns.Metadata.Labels
	}
	for i := range s.Policies {
		w.policies = append(w.policies, &s.Policies[i])
	}
	return w
}

// peerPods are the pods a pod or namespace selector peer of a policy in `namespace` selects.
func (w *world) peerPods(peer Peer, namespace string) []*Pod {
	var selected []*Pod
	for _, pod := range w.pods {
		if peer.NamespaceSelector == nil && pod.Metadata.Namespace != namespace {
			continue
		}
		if peer.NamespaceSelector != nil && !peer.NamespaceSelector.Matches(w.namespaceLabels[pod.Metadata.Namespace]) {
			continue
		}
		if peer.PodSelector != nil && !peer.PodSelector.Matches(pod.Metadata.Labels) {
			continue
		}
		selected = append(selected, pod)
	}
	return selected
}

// endpoint is one allowed far end: an address range and, when known, the pod behind it (for
// named ports). A nil prefix is any address.
type endpoint struct {
	prefix *netip.Prefix
	pod    *Pod
}

// endpoints are the far ends a rule's peers allow; `peers` empty means any address.
func (w *world) endpoints(peers []Peer, namespace string) []endpoint {
	if len(peers) == 0 {
		return []endpoint{{}}
	}
	var result []endpoint
	for _, peer := range peers {
		if peer.IPBlock != nil {
			for _, prefix := range ipBlockPrefixes(peer.IPBlock.CIDR, peer.IPBlock.Except) {
				prefix := prefix
				result = append(result, endpoint{prefix: &prefix})
			}
			continue
		}
		for _, pod := range w.peerPods(peer, namespace) {
			addr, _ := ipv4(pod)
			prefix := netip.PrefixFrom(addr, 32)
			result = append(result, endpoint{prefix: &prefix, pod: pod})
		}
	}
	return result
}

// ipBlockPrefixes is cidr minus its exceptions, as prefixes iptables can match.
func ipBlockPrefixes(cidr string, except []string) []netip.Prefix {
	block, err := netip.ParsePrefix(cidr)
	if err != nil || !block.Addr().Is4() {
		return nil
	}
	var holes []netip.Prefix
	for _, e := range except {
		if hole, err := netip.ParsePrefix(e); err == nil {
			holes = append(holes, hole.Masked())
		}
	}
	return subtract(block.Masked(), holes)
}

// subtract splits `block` in halves until no part overlaps a hole partly.
func subtract(block netip.Prefix, holes []netip.Prefix) []netip.Prefix {
	overlapping := false
	for _, hole := range holes {
		if hole.Bits() <= block.Bits() && hole.Contains(block.Addr()) {
			return nil // The whole block is excepted.
		}
		if block.Overlaps(hole) {
			overlapping = true
		}
	}
	if !overlapping || block.Bits() == 32 {
		return []netip.Prefix{block}
	}
	low := netip.PrefixFrom(block.Addr(), block.Bits()+1)
	highAddr := block.Addr().As4()
	bit := block.Bits()
	highAddr[bit/8] |= 0x80 >> (bit % 8)
	high := netip.PrefixFrom(netip.AddrFrom4(highAddr), block.Bits()+1)
	return append(subtract(low, holes), subtract(high, holes)...)
}

// portMatches are the iptables matches for a rule's ports as seen at `target` (the pod whose
// named ports count): "" alone means every port of every protocol.
func portMatches(ports []PolicyPort, target *Pod) []string {
	if len(ports) == 0 {
		return []string{""}
	}
	var matches []string
	for _, p := range ports {
		protocol := strings.ToLower(p.Protocol)
		if protocol == "" {
			protocol = "tcp"
		}
		switch {
		case p.Port == nil:
			matches = append(matches, "-p "+protocol)
		case p.Port.Name != "":
			if number, ok := namedPort(target, p.Port.Name, protocol); ok {
				matches = append(matches, fmt.Sprintf("-p %s -m %s --dport %d", protocol, protocol, number))
			} // A name the pod does not declare matches nothing there.
		case p.EndPort != nil && *p.EndPort > p.Port.Number:
			matches = append(matches, fmt.Sprintf("-p %s -m %s --dport %d:%d", protocol, protocol, p.Port.Number, *p.EndPort))
		default:
			matches = append(matches, fmt.Sprintf("-p %s -m %s --dport %d", protocol, protocol, p.Port.Number))
		}
	}
	return matches
}

func namedPort(pod *Pod, name, protocol string) (int, bool) {
	if pod == nil {
		return 0, false
	}
	for _, c := range pod.Spec.Containers {
		for _, port := range c.Ports {
			portProtocol := strings.ToLower(port.Protocol)
			if portProtocol == "" {
				portProtocol = "tcp"
			}
			if port.Name == name && portProtocol == protocol {
				return port.ContainerPort, true
			}
		}
	}
	return 0, false
}

// Isolation is what the policies selecting one local pod allow it: nil when no policy of that
// direction selects it (everything is allowed).
type Isolation struct {
	Pod     *Pod
	Ingress []string // allow matches, each "-s …" plus port matches
	Egress  []string
	ingress bool
	egress  bool
}

// isolationOf gathers the allow matches of every policy selecting `pod`.
func (w *world) isolationOf(pod *Pod) Isolation {
	iso := Isolation{Pod: pod}
	for _, policy := range w.policies {
		if policy.Metadata.Namespace != pod.Metadata.Namespace || !policy.Spec.PodSelector.Matches(pod.Metadata.Labels) {
			continue
		}
		ingress, egress := policyTypes(policy)
		if ingress {
			iso.ingress = true
			for _, rule := range policy.Spec.Ingress {
				for _, from := range w.endpoints(rule.From, policy.Metadata.Namespace) {
					for _, ports := range portMatches(rule.Ports, pod) {
						iso.Ingress = append(iso.Ingress, join(address("-s", from.prefix), ports))
					}
				}
			}
		}
		if egress {
			iso.egress = true
			for _, rule := range policy.Spec.Egress {
				iso.Egress = append(iso.Egress, w.egressAllows(rule, policy.Metadata.Namespace)...)
			}
		}
	}
	return iso
}

// egressAllows are an egress rule's allow matches. A named port towards any address is looked
// up at each pod that declares it, since iptables cannot read a name at the far end.
func (w *world) egressAllows(rule Rule, namespace string) []string {
	var allows []string
	if len(rule.To) == 0 && hasNamedPort(rule.Ports) {
		var numbered, named []PolicyPort
		for _, p := range rule.Ports {
			if p.Port != nil && p.Port.Name != "" {
				named = append(named, p)
			} else {
				numbered = append(numbered, p)
			}
		}
		allows = append(allows, portMatches(numbered, nil)...)
		for _, pod := range w.pods {
			addr, _ := ipv4(pod)
			for _, ports := range portMatches(named, pod) {
				allows = append(allows, join("-d "+netip.PrefixFrom(addr, 32).String(), ports))
			}
		}
		return allows
	}
	for _, to := range w.endpoints(rule.To, namespace) {
		for _, ports := range portMatches(rule.Ports, to.pod) {
			allows = append(allows, join(address("-d", to.prefix), ports))
		}
	}
	return allows
}

func hasNamedPort(ports []PolicyPort) bool {
	for _, p := range ports {
		if p.Port != nil && p.Port.Name != "" {
			return true
		}
	}
	return false
}

func address(flag string, prefix *netip.Prefix) string {
	if prefix == nil {
		return ""
	}
	return flag + " " + prefix.String()
}

func join(parts ...string) string {
	var kept []string
	for _, p := range parts {
		if p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, " ")
}

// chainName is a pod's chain for one direction: DSL-I-0af40105 for 10.244.1.5's ingress.
func chainName(direction string, pod *Pod) string {
	addr, _ := ipv4(pod)
	b := addr.As4()
	return fmt.Sprintf("DSL-%s-%02x%02x%02x%02x", direction, b[0], b[1], b[2], b[3])
}

// Ruleset is the enforcer's part of the filter table: its chains and their rules.
type Ruleset struct {
	Chains []string
	Rules  []string
	// Isolated names each local pod a policy isolates, with the directions ("default/web ingress").
	Isolated []string
}

// Text is the input for `iptables-restore --noflush`: every chain of the ruleset flushed and
// filled, and each of `stale` (chains of an earlier round) flushed and deleted, in one commit.
func (r Ruleset) Text(stale []string) string {
	var out strings.Builder
	out.WriteString("*filter\n")
	for _, chain := range append(append([]string{}, r.Chains...), stale...) {
		fmt.Fprintf(&out, ":%s - [0:0]\n", chain)
	}
	for _, line := range r.Rules {
		out.WriteString(line + "\n")
	}
	for _, chain := range stale {
		fmt.Fprintf(&out, "-X %s\n", chain)
	}
	out.WriteString("COMMIT\n")
	return out.String()
}

// Render is the ruleset that enforces the snapshot's policies for the pods on `node`.
// Established and related traffic passes; a new connection from or to an isolated local pod
// must match an allow rule of each isolated end on this node, or it is dropped (as most network
// plugins do). Traffic from the node itself (kubelet probes) is not judged: only FORWARD and
// INPUT jump to the main chain.
func Render(node string, snapshot *Snapshot) Ruleset {
	w := newWorld(snapshot)
	var local []*Pod
	for _, pod := range w.pods {
		if pod.Spec.NodeName == node {
			local = append(local, pod)
		}
	}
	sort.Slice(local, func(i, j int) bool {
		a, _ := ipv4(local[i])
		b, _ := ipv4(local[j])
		return a.Less(b)
	})
	r := Ruleset{Chains: []string{MainChain}, Rules: []string{"-A " + MainChain + " -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN"}}
	for _, pod := range local {
		iso := w.isolationOf(pod)
		addr, _ := ipv4(pod)
		for _, d := range []struct {
			on     bool
			kind   string
			name   string
			flag   string
			allows []string
		}{{iso.egress, "E", "egress", "-s", iso.Egress}, {iso.ingress, "I", "ingress", "-d", iso.Ingress}} {
			if !d.on {
				continue
			}
			who := fmt.Sprintf("%s/%s %s", pod.Metadata.Namespace, pod.Metadata.Name, d.name)
			chain := chainName(d.kind, pod)
			r.Chains = append(r.Chains, chain)
			r.Isolated = append(r.Isolated, who)
			r.Rules = append(r.Rules, fmt.Sprintf("-A %s %s %s/32 -m comment --comment \"%s\" -j %s", MainChain, d.flag, addr, who, chain))
			for _, allow := range unique(d.allows) {
				r.Rules = append(r.Rules, join("-A "+chain, allow, "-j RETURN"))
			}
			r.Rules = append(r.Rules, fmt.Sprintf("-A %s -j DROP", chain))
		}
	}
	return r
}

func unique(lines []string) []string {
	seen := map[string]bool{}
	var result []string
	for _, l := range lines {
		if !seen[l] {
			seen[l] = true
			result = append(result, l)
		}
	}
	return result
}
