module daemonset-lab.dev/network-policy

go 1.24
