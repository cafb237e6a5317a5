package main

import (
	"encoding/json"
	"strconv"
)

// The fields of the API's objects the enforcer reads, decoded from their JSON lists.

// Selector is a metav1.LabelSelector.
type Selector struct {
	MatchLabels      map[string]string `json:"matchLabels"`
	MatchExpressions []struct {
		Key      string   `json:"key"`
		Operator string   `json:"operator"`
		Values   []string `json:"values"`
	} `json:"matchExpressions"`
}

// Matches says whether labels satisfy every term of the selector (an empty selector matches all).
func (s *Selector) Matches(labels map[string]string) bool {
	for key, value := range s.MatchLabels {
		if got, ok := labels[key]; !ok || got != value {
			return false
		}
	}
	for _, e := range s.MatchExpressions {
		value, present := labels[e.Key]
		in := present && contains(e.Values, value)
		switch e.Operator {
		case "In":
			if !in {
				return false
			}
		case "NotIn":
			if in {
				return false
			}
		case "Exists":
			if !present {
				return false
			}
		case "DoesNotExist":
			if present {
				return false
			}
		default:
			return false // The API server refuses other operators; match nothing rather than everything.
		}
	}
	return true
}

func contains(values []string, value string) bool {
	for _, v := range values {
		if v == value {
			return true
		}
	}
	return false
}

// Metadata is the part of ObjectMeta the enforcer needs.
type Metadata struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace"`
	Labels    map[string]string `json:"labels"`
}

// ContainerPort is a named or numbered port a container declares.
type ContainerPort struct {
	Name          string `json:"name"`
	ContainerPort int    `json:"containerPort"`
	Protocol      string `json:"protocol"`
}

// Pod is a v1 Pod.
type Pod struct {
	Metadata Metadata `json:"metadata"`
	Spec     struct {
		NodeName    string `json:"nodeName"`
		HostNetwork bool   `json:"hostNetwork"`
		Containers  []struct {
			Ports []ContainerPort `json:"ports"`
		} `json:"containers"`
	} `json:"spec"`
	Status struct {
		Phase  string `json:"phase"`
		PodIP  string `json:"podIP"`
		PodIPs []struct {
			IP string `json:"ip"`
		} `json:"podIPs"`
	} `json:"status"`
}

// Namespace is a v1 Namespace.
type Namespace struct {
	Metadata Metadata `json:"metadata"`
}

// PortValue is an IntOrString: a number, or a container port's name.
type PortValue struct {
	Number int
	Name   string
}

// UnmarshalJSON takes 80 or "http".
func (p *PortValue) UnmarshalJSON(data []byte) error {
	if len(data) > 0 && data[0] == '"' {
		return json.Unmarshal(data, &p.Name)
	}
	return json.Unmarshal(data, &p.Number)
}

func (p PortValue) String() string {
	if p.Name != "" {
		return p.Name
	}
	return strconv.Itoa(p.Number)
}

// PolicyPort is a NetworkPolicyPort.
type PolicyPort struct {
	Protocol string     `json:"protocol"`
	Port     *PortValue `json:"port"`
	EndPort  *int       `json:"endPort"`
}

// Peer is a NetworkPolicyPeer.
type Peer struct {
	PodSelector       *Selector `json:"podSelector"`
	NamespaceSelector *Selector `json:"namespaceSelector"`
	IPBlock           *struct {
		CIDR   string   `json:"cidr"`
		Except []string `json:"except"`
	} `json:"ipBlock"`
}

// Rule is a NetworkPolicyIngressRule (From) or NetworkPolicyEgressRule (To).
type Rule struct {
	From  []Peer       `json:"from"`
	To    []Peer       `json:"to"`
	Ports []PolicyPort `json:"ports"`
}

// Policy is a networking.k8s.io/v1 NetworkPolicy.
type Policy struct {
	Metadata Metadata `json:"metadata"`
	Spec     struct {
		PodSelector Selector `json:"podSelector"`
		PolicyTypes []string `json:"policyTypes"`
		Ingress     []Rule   `json:"ingress"`
		Egress      []Rule   `json:"egress"`
	} `json:"spec"`
}

// Snapshot is what one round reads from the API server.
type Snapshot struct {
	Pods       []Pod       `json:"pods"`
	Namespaces []Namespace `json:"namespaces"`
	Policies   []Policy    `json:"networkPolicies"`
}
