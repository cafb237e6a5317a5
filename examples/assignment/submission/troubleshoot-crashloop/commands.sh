# troubleshoot-crashloop, step 1: the exit code read with
#   kubectl get pod <pod> -o jsonpath="{.status.containerStatuses[].lastState.terminated.exitCode}"
kubectl annotate daemonset node-agent daemonset-lab.dev/exit-code=1 --overwrite
