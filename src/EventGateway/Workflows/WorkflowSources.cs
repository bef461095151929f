using EventGateway.Manifests;
using EventGateway.Model;

namespace EventGateway.Workflows;

/// <summary>Workflows made from other objects, as `argo submit --from KIND/NAME` makes them.</summary>
public static class WorkflowSources
{
    public const string CronWorkflowLabel = "workflows.argoproj.io/cron-workflow";
    public const string WorkflowTemplateLabel = "workflows.argoproj.io/workflow-template";

    public static Workflow FromCron(CronWorkflow cron)
    {
        var meta = cron.Spec.WorkflowMetadata is { } m ? Json.Clone(m) : new ObjectMeta();
        meta.Name = null;
        meta.GenerateName = $"{cron.Name}-";
        meta.Namespace = cron.Metadata.Namespace;
        (meta.Labels ??= [])[CronWorkflowLabel] = cron.Name;
        return new Workflow { ApiVersion = Resources.ArgoApiVersion, Kind = "Workflow", Metadata = meta, Spec = Json.Clone(cron.Spec.WorkflowSpec) };
    }

    public static Workflow FromTemplate(Resource template)
    {
        var cluster = template is ClusterWorkflowTemplate;
        var meta = new ObjectMeta
        {
            GenerateName = $"{template.Name}-",
            Namespace = cluster ? null : template.Metadata.Namespace,
            Labels = new() { [WorkflowTemplateLabel] = template.Name },
        };
        return new Workflow
        {
            ApiVersion = Resources.ArgoApiVersion,
            Kind = "Workflow",
            Metadata = meta,
            Spec = new WorkflowSpec { WorkflowTemplateRef = new WorkflowTemplateRef { Name = template.Name, ClusterScope = cluster ? true : null } },
        };
    }

    /// <summary>Resolves "cronwf/NAME", "workflowtemplate/NAME" or "clusterworkflowtemplate/NAME" among loaded documents.</summary>
    public static Workflow From(string reference, IEnumerable<Resource> available)
    {
        var slash = reference.IndexOf('/');
        if (slash <= 0) throw new ArgumentException($"--from '{reference}': expected KIND/NAME, e.g. cronwf/nightly or workflowtemplate/build");
        var (kind, name) = (reference[..slash].ToLowerInvariant(), reference[(slash + 1)..]);
        var docs = available.ToList();
        return kind switch
        {
            "cronwf" or "cronworkflow" or "cronworkflows" => docs.OfType<CronWorkflow>().FirstOrDefault(c => c.Name == name) is { } c ? FromCron(c)
                : throw new ArgumentException($"--from {reference}: no CronWorkflow named '{name}'"),
            "workflowtemplate" or "wftmpl" or "workflowtemplates" => docs.OfType<WorkflowTemplate>().FirstOrDefault(t => t.Name == name) is { } t ? FromTemplate(t)
                : throw new ArgumentException($"--from {reference}: no WorkflowTemplate named '{name}'"),
            "clusterworkflowtemplate" or "cwftmpl" => docs.OfType<ClusterWorkflowTemplate>().FirstOrDefault(t => t.Name == name) is { } ct ? FromTemplate(ct)
                : throw new ArgumentException($"--from {reference}: no ClusterWorkflowTemplate named '{name}'"),
            _ => throw new ArgumentException($"--from '{reference}': kind '{kind}' is not one of cronwf, workflowtemplate, clusterworkflowtemplate"),
        };
    }
}
