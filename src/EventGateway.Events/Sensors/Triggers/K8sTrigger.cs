using EventGateway.Workflows.Submission;

namespace EventGateway.Events.Sensors.Triggers;

/// <summary>
/// <c>k8s</c> trigger, operation <c>create</c>: creates the source resource, which here must be a Workflow
/// (a full one, or one that runs a WorkflowTemplate through <c>workflowTemplateRef</c>), into the embedded controller.
/// </summary>
public sealed class K8sTrigger(WorkflowSubmitter submitter) : ITrigger
{
    public string Kind => "k8s";

    public async Task<TriggerResult> FireAsync(TriggerFiring firing, TriggerContext context, CancellationToken ct)
    {
        var k8s = firing.Trigger.Template?.K8s ?? throw new TriggerException("template.k8s: missing", retryable: false);
        var operation = k8s["operation"]?.GetValue<string>() ?? "create";
        if (operation != "create") throw new TriggerException($"k8s operation '{operation}' is not supported here; only create", retryable: false);
        var resource = await TriggerSource.LoadAsync(k8s, firing, context, ct).ConfigureAwait(false);
        var result = await WorkflowCreation.CreateAsync(WorkflowCreation.Read(resource), firing, submitter, context, ct).ConfigureAwait(false);
        await K8sPolicy.WaitAsync(firing, result, context, ct).ConfigureAwait(false);
        return result;
    }
}
