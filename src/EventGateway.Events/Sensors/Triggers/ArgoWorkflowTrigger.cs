using System.Text.Json;
using System.Text.Json.Nodes;
using EventGateway.Model;
using EventGateway.Workflows.Controls;
using EventGateway.Workflows.Submission;
using EventGateway.Model.Manifests;
using EventGateway.Workflows.Store;

namespace EventGateway.Events.Sensors.Triggers;

/// <summary>
/// <c>argoWorkflow</c> trigger into the embedded controller. <c>submit</c> creates the source Workflow;
/// <c>submit-from</c> creates one from the named WorkflowTemplate or CronWorkflow; the other operations act
/// on the existing workflow the source names (usually set by a parameter), as <c>argo OPERATION NAME</c> does.
/// </summary>
public sealed class ArgoWorkflowTrigger(WorkflowSubmitter submitter, WorkflowControls operations) : ITrigger
{
    public static readonly string[] Operations = ["submit", "submit-from", "resubmit", "retry", "resume", "suspend", "terminate", "stop"];

    public string Kind => "argoWorkflow";

    public async Task<TriggerResult> FireAsync(TriggerFiring firing, TriggerContext context, CancellationToken ct)
    {
        var spec = firing.Trigger.Template?.ArgoWorkflow ?? throw new TriggerException("template.argoWorkflow: missing", retryable: false);
        var operation = spec["operation"]?.GetValue<string>() ?? "submit";
        var problems = new List<string>();
        var args = ArgoCliArgs.Parse(spec["args"]?.Deserialize<List<string>>(Json.Lenient), operation, "template.argoWorkflow.args", (p, r) => problems.Add($"{p}: {r}"));
        if (problems.Count > 0) throw TriggerSpec.Refusal(problems);
        var resource = await TriggerSource.LoadAsync(spec, firing, context, ct).ConfigureAwait(false);
        switch (operation)
        {
            case "submit":
            {
                var result = await WorkflowCreation.CreateAsync(WithArgs(WorkflowCreation.Read(resource), args), firing, submitter, context, ct, args.Parameters).ConfigureAwait(false);
                await K8sPolicy.WaitAsync(firing, result, context, ct).ConfigureAwait(false);
                return result;
            }
            case "submit-from":
            {
                var wf = await FromAsync(resource, firing.Namespace, ct).ConfigureAwait(false);
                var result = await WorkflowCreation.CreateAsync(WithArgs(wf, args), firing, submitter, context, ct, args.Parameters).ConfigureAwait(false);
                await K8sPolicy.WaitAsync(firing, result, context, ct).ConfigureAwait(false);
                return result;
            }
            default:
                return await OperateAsync(operation, NameOf(resource), args, firing, ct).ConfigureAwait(false);
        }
    }

    /// <summary>What `argo submit --entrypoint/--labels/--name/--generate-name` would change in the workflow.</summary>
    private static Workflow WithArgs(Workflow wf, ArgoCliArgs args)
    {
        if (args.Entrypoint is { } entrypoint) wf.Spec.Entrypoint = entrypoint;
        if (args.Name is { } name) (wf.Metadata.Name, wf.Metadata.GenerateName) = (name, null);
        else if (args.GenerateName is { } prefix) (wf.Metadata.Name, wf.Metadata.GenerateName) = (null, prefix);
        foreach (var (k, v) in args.Labels) (wf.Metadata.Labels ??= [])[k] = v;
        return wf;
    }

    private async Task<TriggerResult> OperateAsync(string operation, string name, ArgoCliArgs args, TriggerFiring firing, CancellationToken ct)
    {
        var ns = firing.Namespace;
        try
        {
            switch (operation)
            {
                case "resubmit":
                    var newName = DedupKeys.WorkflowName($"{name}-", ns, firing.Sensor.Name, firing.TriggerName, firing.DedupKey);
                    var created = await operations.ResubmitAsync(ns, name, memoized: args.Memoized, newName: newName, ct: ct).ConfigureAwait(false);
                    return new TriggerResult($"workflow {name} resubmitted as {created.Name}", "Workflow", created.Name);
                case "retry": await operations.RetryAsync(ns, name, args.RestartSuccessful, args.NodeFieldSelector, ct).ConfigureAwait(false); break;
                case "resume": await operations.ResumeAsync(ns, name, args.NodeFieldSelector, ct).ConfigureAwait(false); break;
                case "suspend": await operations.SuspendAsync(ns, name, ct).ConfigureAwait(false); break;
                case "terminate": await operations.TerminateAsync(ns, name, ct).ConfigureAwait(false); break;
                case "stop": await operations.StopAsync(ns, name, $"stopped by sensor {firing.Sensor.Name}", args.NodeFieldSelector, ct).ConfigureAwait(false); break;
                default: throw new TriggerException($"operation '{operation}' is not one of {string.Join(", ", Operations)}", retryable: false);
            }
            return new TriggerResult($"workflow {name}: {operation} done");
        }
        catch (NotFoundException e)
        {
            throw new TriggerException($"{operation}: {e.Message}", retryable: false, e);
        }
        catch (InvalidOperationException e)
        {
            throw new TriggerException($"{operation} {name}: {e.Message}", retryable: false, e);
        }
        catch (ManifestException e)
        {
            throw new TriggerException($"{operation} {name}: {e.Message}", retryable: false, e);
        }
    }

    private static string NameOf(JsonObject resource) =>
        resource["metadata"]?["name"]?.GetValue<string>() is { Length: > 0 } name ? name
            : throw new TriggerException("source.resource.metadata.name: missing: the workflow to act on (set it with a parameter)", retryable: false);

    private async Task<Workflow> FromAsync(JsonObject resource, string ns, CancellationToken ct)
    {
        try
        {
            return await submitter.FromAsync(resource["kind"]?.GetValue<string>() ?? "", ns, NameOf(resource), ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ArgumentException or NotFoundException)
        {
            throw new TriggerException($"submit-from: {e.Message}", retryable: false, e);
        }
    }
}
