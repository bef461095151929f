using System.Text.Json;
using System.Text.Json.Nodes;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Workflows.Store;
using EventGateway.Workflows.Submission;

namespace EventGateway.Events.Sensors.Triggers;

/// <summary>
/// Creates a Workflow for a firing into the embedded controller. Unless the manifest names the workflow,
/// its name is derived from (sensor, trigger, dedup key), so a firing replayed after a crash finds the
/// workflow it created before instead of making a second one.
/// </summary>
public static class WorkflowCreation
{
    public const string DedupKeyAnnotation = "eventgateway.io/dedup-key";

    public static Workflow Read(JsonObject resource)
    {
        if (resource["kind"]?.GetValue<string>() is { } kind && kind != "Workflow")
            throw new TriggerException($"source.resource: kind '{kind}' cannot be created here; a trigger creates Workflows (use workflowTemplateRef to run a WorkflowTemplate)", retryable: false);
        try
        {
            return resource.Deserialize<Workflow>(Json.Options) ?? throw new TriggerException("source.resource: empty", retryable: false);
        }
        catch (JsonException e)
        {
            throw new TriggerException($"source.resource: not a Workflow: {e.Message}", retryable: false, e);
        }
    }

    public static async Task<TriggerResult> CreateAsync(Workflow wf, TriggerFiring firing, WorkflowSubmitter submitter, TriggerContext context, CancellationToken ct,
        IReadOnlyList<KeyValuePair<string, string>>? parameters = null)
    {
        wf.Metadata.Namespace ??= firing.Namespace;
        Mark(wf, firing);

        try
        {
            var created = await submitter.SubmitAsync(wf, parameters, source: $"sensor {firing.Namespace}/{firing.Sensor.Name} trigger {firing.TriggerName}", ct: ct).ConfigureAwait(false);
            return new TriggerResult($"workflow {created.Name} created", "Workflow", created.Name);
        }
        catch (ManifestException e)
        {
            throw new TriggerException($"workflow refused: {e.Message}", retryable: false, e);
        }
        catch (ConflictException)
        {
            var existing = await context.Store.GetAsync<Workflow>(wf.NamespaceOrDefault, wf.Name, ct).ConfigureAwait(false);
            if (MadeBy(existing, firing))
                return new TriggerResult($"workflow {existing!.Name} already existed (created by an earlier pass over this firing)", "Workflow", existing.Name);
            throw new TriggerException($"workflow '{wf.Name}' already exists in namespace '{wf.NamespaceOrDefault}' (the manifest names it; use generateName to create one per event)", retryable: false);
        }
    }

    /// <summary>
    /// Names an object a trigger creates (a generateName becomes a name derived from the firing) and marks it with the
    /// sensor, trigger and dedup key, so a replayed firing recognises it.
    /// </summary>
    public static void Mark(Resource r, TriggerFiring firing)
    {
        if (string.IsNullOrEmpty(r.Metadata.Name))
        {
            var prefix = r.Metadata.GenerateName ?? $"{firing.Sensor.Name}-{firing.TriggerName}-";
            r.Metadata.Name = DedupKeys.WorkflowName(prefix, firing.Namespace, firing.Sensor.Name, firing.TriggerName, firing.DedupKey);
            r.Metadata.GenerateName = null;
        }
        (r.Metadata.Labels ??= [])[SensorWorkflowGate.SensorLabel] = firing.Sensor.Name;
        r.Metadata.Labels[SensorWorkflowGate.TriggerLabel] = firing.TriggerName;
        (r.Metadata.Annotations ??= [])[DedupKeyAnnotation] = firing.DedupKey;
    }

    /// <summary>True when <paramref name="existing"/> is what this firing's trigger created on an earlier pass.</summary>
    public static bool MadeBy(Resource? existing, TriggerFiring firing) =>
        existing?.Metadata.Annotations?.GetValueOrDefault(DedupKeyAnnotation) == firing.DedupKey
        && existing.Metadata.Labels?.GetValueOrDefault(SensorWorkflowGate.TriggerLabel) == firing.TriggerName;
}
