// The NetworkPolicy enforcer of the DaemonSet Lab kind node image, run by its pod network daemon
// on every node (kindnetd enforces policies too, with nftables' queue statement, which some
// kernels lack). Every two seconds it reads pods, namespaces and NetworkPolicies from the API
// server and, when what they mean for this node's pods changed, rewrites its iptables chains
// in one iptables-restore commit (rules.go). Standard library only, so it builds offline.
//
//	network-policy --server URL --node NAME   enforce (the service account's token and CA)
//	network-policy --render NODE <snapshot.json   print the iptables-restore input (tests)
package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"time"
)

const serviceAccount = "/var/run/secrets/kubernetes.io/serviceaccount"

func main() {
	server := flag.String("server", "", "the API server's URL")
	node := flag.String("node", "", "this node's name")
	render := flag.String("render", "", "print the rules for this node from a snapshot on stdin, and exit")
	flag.Parse()
	if *render != "" {
		var snapshot Snapshot
		if err := json.NewDecoder(os.Stdin).Decode(&snapshot); err != nil {
			fmt.Fprintf(os.Stderr, "snapshot: %v\n", err)
			os.Exit(2)
		}
		fmt.Print(Render(*render, &snapshot).Text(nil))
		return
	}
	if *server == "" || *node == "" {
		fmt.Fprintln(os.Stderr, "usage: network-policy --server URL --node NAME | --render NODE <snapshot.json")
		os.Exit(2)
	}
	client, err := apiClient()
	if err != nil {
		fmt.Fprintf(os.Stderr, "ERROR: network policies: %v\n", err)
		os.Exit(1)
	}
	enforce(client, *server, *node)
}

// apiClient trusts the cluster's CA, as the pod's service account sees it.
func apiClient() (*http.Client, error) {
	ca, err := os.ReadFile(serviceAccount + "/ca.crt")
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}, nil
}

func enforce(client *http.Client, server, node string) {
	applied := ""
	for ; ; time.Sleep(2 * time.Second) {
		snapshot, err := read(client, server)
		if err != nil {
			fmt.Printf("WARN: network policies: %v; keeping the rules as they are\n", err)
			continue
		}
		ruleset := Render(node, snapshot)
		text := ruleset.Text(nil)
		if text != applied {
			if err := apply(ruleset); err != nil {
				fmt.Printf("WARN: network policies: %v; trying again\n", err)
				continue
			}
			applied = text
			if len(ruleset.Isolated) == 0 {
				fmt.Printf("INFO: network policies: no pod on %s is isolated\n", node)
			} else {
				fmt.Printf("INFO: network policies: %d isolated on %s: %s\n", len(ruleset.Isolated), node, strings.Join(ruleset.Isolated, ", "))
			}
		}
		for _, hook := range []string{"FORWARD", "INPUT"} {
			if exec.Command("iptables", "-C", hook, "-j", MainChain).Run() != nil {
				if out, err := exec.Command("iptables", "-I", hook, "1", "-j", MainChain).CombinedOutput(); err != nil {
					fmt.Printf("WARN: network policies: iptables -I %s: %v %s\n", hook, err, out)
				}
			}
		}
	}
}

// read lists what the rules depend on.
func read(client *http.Client, server string) (*Snapshot, error) {
	token, err := os.ReadFile(serviceAccount + "/token")
	if err != nil {
		return nil, err
	}
	var snapshot Snapshot
	lists := []struct {
		path string
		into any
	}{
		{"/api/v1/pods", &snapshot.Pods},
		{"/api/v1/namespaces", &snapshot.Namespaces},
		{"/apis/networking.k8s.io/v1/networkpolicies", &snapshot.Policies},
	}
	for _, list := range lists {
		request, _ := http.NewRequest(http.MethodGet, server+list.path, nil)
		request.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
		request.Header.Set("Accept", "application/json")
		response, err := client.Do(request)
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(response.Body)
		response.Body.Close()
		if err != nil {
			return nil, err
		}
		if response.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: HTTP %d %s", list.path, response.StatusCode, bytes.TrimSpace(body))
		}
		var items struct {
			Items json.RawMessage `json:"items"`
		}
		if err := json.Unmarshal(body, &items); err != nil {
			return nil, fmt.Errorf("GET %s: %v", list.path, err)
		}
		if err := json.Unmarshal(items.Items, list.into); err != nil {
			return nil, fmt.Errorf("GET %s: %v", list.path, err)
		}
	}
	return &snapshot, nil
}

var ownChain = regexp.MustCompile(`(?m)^:(DSL-[IE]-[0-9a-f]{8}) `)

// apply writes the ruleset in one commit, deleting the per-pod chains it no longer has.
func apply(ruleset Ruleset) error {
	saved, err := exec.Command("iptables-save", "-t", "filter").Output()
	if err != nil {
		return fmt.Errorf("iptables-save: %v", err)
	}
	keep := map[string]bool{}
	for _, chain := range ruleset.Chains {
		keep[chain] = true
	}
	var stale []string
	for _, match := range ownChain.FindAllStringSubmatch(string(saved), -1) {
		if !keep[match[1]] {
			stale = append(stale, match[1])
		}
	}
	restore := exec.Command("iptables-restore", "--noflush")
	restore.Stdin = strings.NewReader(ruleset.Text(stale))
	if out, err := restore.CombinedOutput(); err != nil {
		return fmt.Errorf("iptables-restore: %v %s", err, bytes.TrimSpace(out))
	}
	return nil
}
