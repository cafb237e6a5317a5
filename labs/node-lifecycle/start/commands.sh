# node-lifecycle: write down the commands you use here.
# Step 1: add a node.  Step 2: remove it.  Step 3: cordon a node and delete its nginx-daemonset pod.
