/** The cluster tests' own embedded cluster (preferred port base 26400: kube-apiserver on 26443). */
import { provideTestCluster } from '../support/test-cluster.ts';

export default provideTestCluster('cluster-tests', 26400);
