# The reference solution of delete-and-adopt: commands, not YAML.
kubectl delete daemonset nginx-daemonset --cascade=orphan   # step 1: the DaemonSet goes, its pods stay
kubectl get pods -l name=nginx-daemonset -o wide            #   still Running, no owner any more
kubectl apply -f nginx-daemonset.yaml                       # step 2: same selector, same template
kubectl get pods -l name=nginx-daemonset -o custom-columns=NAME:.metadata.name,OWNER:.metadata.ownerReferences[0].name
kubectl delete daemonset nginx-daemonset                    # step 3: the DaemonSet and its pods
kubectl get pods -l name=nginx-daemonset                    #   No resources found
