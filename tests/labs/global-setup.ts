/** The lab tests' own embedded cluster (preferred port base 27400: kube-apiserver on 27443). */
import { provideTestCluster } from '../support/test-cluster.ts';

export default provideTestCluster('lab-tests', 27400);
