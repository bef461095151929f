using k8s;

namespace EventGateway.Server.Kubernetes;

/// <summary><c>egw serve --kubernetes [--kubeconfig PATH]</c>: read the mirrored kinds from an API server.</summary>
public sealed class KubernetesOptions
{
    /// <summary>A kubeconfig file (its current context); null: the in-cluster config of the pod's service account.</summary>
    public string? Kubeconfig { get; set; }

    /// <summary>Objects per list request (limit/continue); tests make it small to read a list in several pages.</summary>
    public int ListPageSize { get; set; } = ClusterKind.DefaultPageSize;

    public const string EmbeddedTarget = "embedded";
    public const string ClusterTarget = "cluster";

    /// <summary>
    /// <c>--workflows-target</c>: where argoWorkflow triggers send workflows: <c>embedded</c> (this service's controller,
    /// the default) or <c>cluster</c> (Workflow objects in the cluster, run by an Argo Workflows controller there).
    /// </summary>
    public string WorkflowsTarget { get; set; } = EmbeddedTarget;

    public void Validate()
    {
        if (WorkflowsTarget is not (EmbeddedTarget or ClusterTarget))
            throw new ArgumentException($"--workflows-target '{WorkflowsTarget}' is not one of {EmbeddedTarget}, {ClusterTarget}");
        if (Kubeconfig is { } path && !File.Exists(path)) throw new ArgumentException($"--kubeconfig {path} does not exist");
        if (Kubeconfig is null && !KubernetesClientConfiguration.IsInCluster())
            throw new ArgumentException("--kubernetes: not running in a pod (KUBERNETES_SERVICE_HOST is unset or the service account token is missing); pass --kubeconfig PATH");
    }

    public KubernetesClientConfiguration ClientConfiguration() =>
        Kubeconfig is { } path ? KubernetesClientConfiguration.BuildConfigFromConfigFile(path) : KubernetesClientConfiguration.InClusterConfig();

    /// <summary>Where this service's own objects (its Leases) live: the pod's namespace, or the kubeconfig context's; else "default".</summary>
    public string LeaseNamespace() => ClientConfiguration().Namespace is { Length: > 0 } ns ? ns : "default";
}
