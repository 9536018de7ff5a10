/**
 * The versions an AWS cluster is pinned to, with where each was checked (2026-12-01). Pinned so an
 * apply never upgrades anything behind our back; bump them together, re-checking each source, when
 * the test "standard support lasts" fails (it fails 60 days before KUBERNETES_VERSION's standard
 * support ends, when EKS would start billing extended support at six times the hourly price).
 * No Pulumi import: the tests read these alone.
 */

/**
 * EKS Kubernetes version of the control plane and the system nodes.
 * 1.36 is the newest version on EKS (EKS user guide, "Review release notes for Kubernetes versions on
 * standard support": "Kubernetes 1.36 is now available in Amazon EKS"; the add-on tables below have a
 * 1.36 row and no 1.37 row). Released on EKS 2026-06-02; standard support is 14 months from the EKS
 * release (EKS user guide, "Understand the Kubernetes version lifecycle on EKS"), so it ends
 * 2027-08-02 (the same date a third-party write-up gives). 1.35's ends 2027-03-27 (EKS release
 * calendar), so 1.36 is on standard support the longest from today.
 */
export const KUBERNETES_VERSION = "1.36";

/** The day standard support ends for each version we know (UTC); from the sources above. */
export const EKS_STANDARD_SUPPORT_ENDS: Readonly<Record<string, string>> = {
  "1.34": "2026-12-02",
  "1.35": "2027-03-27",
  "1.36": "2027-08-02",
};

/**
 * EKS add-on versions for KUBERNETES_VERSION. Re-check each with
 * `aws eks describe-addon-versions --kubernetes-version 1.36 --addon-name <name>` before a bump.
 */
export const ADDON_VERSIONS: Readonly<Record<string, string>> = {
  // Checked: EKS user guide "Manage kube-proxy", add-on table, row 1.36 (the ja_jp edition, the newest
  // one the search index held): v1.36.0-eksbuild.14.
  "kube-proxy": "v1.36.0-eksbuild.14",
  // Checked: EKS user guide "Manage CoreDNS", add-on table, row 1.36 (ja_jp edition): v1.14.3-eksbuild.3.
  coredns: "v1.14.3-eksbuild.3",
  // NOT verified for 1.36: the VPC CNI table's 1.36 row was not in any copy I could read. This build is
  // the newest seen published (July 2026, from describe-addon-versions for 1.33, in
  // ministryofjustice/cloud-platform-infrastructure PR 4678); the CNI table lists one build for every
  // supported version, which is why it is likely, not certain, to be offered for 1.36.
  "vpc-cni": "v1.22.3-eksbuild.1",
  // NOT verified for 1.36: no add-on table exists for the Pod Identity Agent in the user guide; this
  // build was seen pinned in public code, not in an AWS list for 1.36. Run describe-addon-versions.
  "eks-pod-identity-agent": "v1.3.10-eksbuild.3",
};

/** Add-ons whose pin could not be checked against KUBERNETES_VERSION (said in the README too). */
export const UNVERIFIED_ADDONS: readonly string[] = ["vpc-cni", "eks-pod-identity-agent"];

/**
 * Karpenter Helm chart version (oci://public.ecr.aws/karpenter/karpenter, Chart.yaml `version:`, not
 * the app version). Checked: aws/karpenter-provider-aws at v1.14.1 (commit 1d927085, 2026-08-21),
 * charts/karpenter/Chart.yaml `version: 1.14.1`; its compatibility matrix
 * (website/content/en/v1.14/upgrading/compatibility.md) says Kubernetes 1.36 needs >= 1.13.
 * v1.15.0 exists (karpenter.sh, 2026-10-10) but its chart and matrix were not in the copy I read.
 */
export const KARPENTER_CHART_VERSION = "1.14.1";

/** Karpenter's compatibility matrix (same file as above): the oldest Karpenter for each Kubernetes version. */
export const KARPENTER_MIN_FOR_KUBERNETES: Readonly<Record<string, string>> = {
  "1.30": "0.37",
  "1.31": "1.0.5",
  "1.32": "1.2",
  "1.33": "1.5",
  "1.34": "1.6",
  "1.35": "1.9",
  "1.36": "1.13",
};

/** The EKS-optimised AMI family Karpenter launches (EC2NodeClass `amiSelectorTerms`); `latest` follows the cluster's version. */
export const KARPENTER_AMI_ALIAS = "al2023@latest";

/** Compares dotted versions numerically: -1, 0 or 1. */
export function compareVersions(a: string, b: string): number {
  const pa = a.replace(/^v/, "").split(/[.-]/).map((p) => Number.parseInt(p, 10));
  const pb = b.replace(/^v/, "").split(/[.-]/).map((p) => Number.parseInt(p, 10));
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = Number.isNaN(pa[i] ?? 0) ? 0 : (pa[i] ?? 0);
    const y = Number.isNaN(pb[i] ?? 0) ? 0 : (pb[i] ?? 0);
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}
