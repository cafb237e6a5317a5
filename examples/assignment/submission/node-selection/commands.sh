# node-selection, step 2: a third node gets a fast disk; the DaemonSet follows the label.
kubectl label node daemonset-lab-worker3 disktype=ssd --overwrite
