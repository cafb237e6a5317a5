# delete-and-adopt: write down the commands you use here.
# Step 1: delete nginx-daemonset but keep its pods.  Step 2: let a new DaemonSet adopt them.
# Step 3: delete the DaemonSet together with its pods.
