using EventGateway.Model;
using EventGateway.Model.Manifests;

namespace EventGateway.Workflows.Submission;

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

    /// <summary>
    /// The kind a <c>--from</c> or submit request names, by its Kind, singular, plural or short name as Argo accepts them
    /// (CronWorkflow, cronworkflow, cronworkflows, cronwf, cwf; WorkflowTemplate, ..., wftmpl; ClusterWorkflowTemplate, ..., cwftmpl).
    /// </summary>
    /// <exception cref="ArgumentException">not one of the three.</exception>
    public static string Kind(string kindOrAlias) => kindOrAlias.ToLowerInvariant() switch
    {
        "cronworkflow" or "cronworkflows" or "cronwf" or "cwf" => "CronWorkflow",
        "workflowtemplate" or "workflowtemplates" or "wftmpl" => "WorkflowTemplate",
        "clusterworkflowtemplate" or "clusterworkflowtemplates" or "cwftmpl" => "ClusterWorkflowTemplate",
        _ => throw new ArgumentException($"kind '{kindOrAlias}' is not one of cronwf, workflowtemplate, clusterworkflowtemplate"),
    };

    /// <summary>Splits "KIND/NAME" (e.g. cronwf/nightly) into the canonical kind and the name.</summary>
    /// <exception cref="ArgumentException">not of that form, or an unknown kind.</exception>
    public static (string Kind, string Name) ParseReference(string reference)
    {
        var slash = reference.IndexOf('/');
        if (slash <= 0 || slash == reference.Length - 1) throw new ArgumentException($"--from '{reference}': expected KIND/NAME, e.g. cronwf/nightly or workflowtemplate/build");
        try { return (Kind(reference[..slash]), reference[(slash + 1)..]); }
        catch (ArgumentException e) { throw new ArgumentException($"--from '{reference}': {e.Message}"); }
    }

    /// <summary>The workflow made from a CronWorkflow, WorkflowTemplate or ClusterWorkflowTemplate.</summary>
    public static Workflow From(Resource source) => source is CronWorkflow c ? FromCron(c) : FromTemplate(source);

    /// <summary>Resolves "cronwf/NAME", "workflowtemplate/NAME" or "clusterworkflowtemplate/NAME" among loaded documents.</summary>
    public static Workflow From(string reference, IEnumerable<Resource> available)
    {
        var (kind, name) = ParseReference(reference);
        return available.FirstOrDefault(r => r.Kind == kind && r.Name == name) is { } source ? From(source)
            : throw new ArgumentException($"--from {reference}: no {kind} named '{name}' in the files");
    }
}
