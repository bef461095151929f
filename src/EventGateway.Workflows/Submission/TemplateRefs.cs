using EventGateway.Model;

namespace EventGateway.Workflows.Submission;

/// <summary>How a templateRef is keyed when its template is frozen into a workflow's status.</summary>
public static class TemplateRefs
{
    public static string Key(TemplateRef r, string @namespace) =>
        r.ClusterScope == true ? $"cluster/{r.Name}/{r.Template}" : $"namespaced/{@namespace}/{r.Name}/{r.Template}";
}
