namespace EventGateway.Model;

/// <summary>The kinds this service understands, and how each maps to its CLR type.</summary>
public static class Resources
{
    public const string ArgoApiVersion = "argoproj.io/v1alpha1";
    public const string DefaultNamespace = "default";

    public static readonly IReadOnlyDictionary<string, (Type Type, string ApiVersion)> Kinds = new Dictionary<string, (Type, string)>
    {
        ["Workflow"] = (typeof(Workflow), ArgoApiVersion),
        ["WorkflowTemplate"] = (typeof(WorkflowTemplate), ArgoApiVersion),
        ["ClusterWorkflowTemplate"] = (typeof(ClusterWorkflowTemplate), ArgoApiVersion),
        ["CronWorkflow"] = (typeof(CronWorkflow), ArgoApiVersion),
        ["ConfigMap"] = (typeof(ConfigMap), "v1"),
        ["Secret"] = (typeof(Secret), "v1"),
        ["PersistentVolumeClaim"] = (typeof(PersistentVolumeClaim), "v1"),
        ["EventSource"] = (typeof(EventSource), ArgoApiVersion),
        ["Sensor"] = (typeof(Sensor), ArgoApiVersion),
    };

    /// <summary>Kinds without a namespace: stored under an empty namespace.</summary>
    public static bool IsClusterScoped(string kind) => kind == "ClusterWorkflowTemplate";
}
