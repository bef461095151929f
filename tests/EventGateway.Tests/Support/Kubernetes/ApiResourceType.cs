namespace EventGateway.Tests.Support.Kubernetes;

/// <summary>One resource the test API server serves, as its discovery document lists it.</summary>
public sealed record ApiResourceType(string Group, string Version, string Kind, string Plural, bool Namespaced, bool HasStatus)
{
    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    /// <summary>plural.group, as Status messages name a resource (<c>sensors.argoproj.io "x" not found</c>).</summary>
    public string QualifiedPlural => Group.Length == 0 ? Plural : $"{Plural}.{Group}";

    /// <summary>Custom resources (not core kinds) refuse an update without metadata.resourceVersion, as CRDs do.</summary>
    public bool IsCustom => Group.EndsWith("argoproj.io", StringComparison.Ordinal);

    public static IReadOnlyList<ApiResourceType> Defaults { get; } =
    [
        new("", "v1", "Namespace", "namespaces", false, true),
        new("", "v1", "ConfigMap", "configmaps", true, false),
        new("", "v1", "Secret", "secrets", true, false),
        new("", "v1", "Pod", "pods", true, true),
        new("", "v1", "Service", "services", true, true),
        new("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", true, true),
        new("apps", "v1", "Deployment", "deployments", true, true),
        new("batch", "v1", "Job", "jobs", true, true),
        new("coordination.k8s.io", "v1", "Lease", "leases", true, false),
        new("argoproj.io", "v1alpha1", "EventSource", "eventsources", true, true),
        new("argoproj.io", "v1alpha1", "Sensor", "sensors", true, true),
        new("argoproj.io", "v1alpha1", "EventBus", "eventbus", true, true),
        new("argoproj.io", "v1alpha1", "Workflow", "workflows", true, false),
        new("argoproj.io", "v1alpha1", "WorkflowTemplate", "workflowtemplates", true, false),
        new("argoproj.io", "v1alpha1", "ClusterWorkflowTemplate", "clusterworkflowtemplates", false, false),
        new("argoproj.io", "v1alpha1", "CronWorkflow", "cronworkflows", true, false),
    ];
}
