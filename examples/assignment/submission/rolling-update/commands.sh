# rolling-update: the files set the RollingUpdate strategy (step 1) and create nginx-ondelete.
# Step 2: update to nginx:1.20.0 and record why.
kubectl annotate daemonset/nginx-daemonset kubernetes.io/change-cause="update nginx to 1.20.0" --overwrite
kubectl set image daemonset/nginx-daemonset nginx=nginx:1.20.0
kubectl rollout status daemonset/nginx-daemonset --timeout=60s
# Step 3: roll back to the previous revision.
kubectl rollout undo daemonset/nginx-daemonset
kubectl rollout status daemonset/nginx-daemonset --timeout=60s
# Step 4: OnDelete changes a pod only when it is deleted (rollout status works only for RollingUpdate).
kubectl wait --for=jsonpath='{.status.numberReady}'=3 daemonset/nginx-ondelete --timeout=60s
kubectl set image daemonset/nginx-ondelete nginx=nginx:1.20.0
kubectl delete pod -l name=nginx-ondelete --field-selector spec.nodeName=daemonset-lab-worker
