# The reference solution of node-lifecycle: commands, not YAML.
npm run cluster -- add-node                       # step 1: a new worker, e.g. daemonset-lab-worker4
kubectl get pods -o wide -w                       #   its nginx-daemonset pod appears
npm run cluster -- remove-node daemonset-lab-worker4   # step 2
kubectl get pods -o wide                          #   the pod is gone with the node
kubectl cordon daemonset-lab-worker2              # step 3
kubectl delete pod <the nginx-daemonset pod on daemonset-lab-worker2>
kubectl get pods -o wide                          #   recreated on the cordoned node
