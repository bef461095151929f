using System.Text.Json;
using System.Text.Json.Nodes;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Workflows.Cluster;

namespace EventGateway.Events.Sensors.Triggers;

/// <summary>
/// <c>argoWorkflow</c> trigger with <c>--workflows-target cluster</c>: Workflow objects in the cluster, for the Argo
/// Workflows controller running there, as far as each operation maps onto the Kubernetes API alone:
/// <list type="bullet">
/// <item><c>submit</c> creates the source Workflow (a generateName becomes a name derived from the firing, so a replay
/// finds it); <c>submit-from</c> creates one from a WorkflowTemplate or ClusterWorkflowTemplate (a workflowTemplateRef,
/// as <c>argo submit --from</c>) or from a CronWorkflow's workflowSpec; the args' entrypoint, name, labels and
/// parameters apply as with <c>argo submit</c>.</item>
/// <item><c>suspend</c>/<c>resume</c> set/clear <c>spec.suspend</c>; <c>terminate</c>/<c>stop</c> set <c>spec.shutdown</c>
/// (what argo-server writes too); <c>resubmit</c> creates a copy of the workflow's spec.</item>
/// <item>Refused, naming argo-server: <c>retry</c> (rewrites the node statuses), <c>resubmit --memoized</c>,
/// <c>stop</c>/<c>resume</c> with <c>--node-field-selector</c>; <c>resume</c> does not resume suspend-template nodes.</item>
/// </list>
/// </summary>
public sealed class ClusterArgoWorkflowTrigger(IClusterObjects cluster) : ITrigger
{
    private const string ArgoApiVersion = "argoproj.io/v1alpha1";

    public string Kind => "argoWorkflow";

    public async Task<TriggerResult> FireAsync(TriggerFiring firing, TriggerContext context, CancellationToken ct)
    {
        var spec = firing.Trigger.Template?.ArgoWorkflow ?? throw new TriggerException("template.argoWorkflow: missing", retryable: false);
        var operation = spec["operation"]?.GetValue<string>() ?? "submit";
        var problems = new List<string>();
        var args = ArgoCliArgs.Parse(spec["args"]?.Deserialize<List<string>>(Json.Lenient), operation, "template.argoWorkflow.args", (p, r) => problems.Add($"{p}: {r}"));
        if (problems.Count > 0) throw TriggerSpec.Refusal(problems);
        var resource = await TriggerSource.LoadAsync(spec, firing, context, ct).ConfigureAwait(false);
        var ns = firing.Namespace;
        if (resource["metadata"]?["namespace"]?.GetValue<string>() is { Length: > 0 } other && other != ns)
            throw new TriggerException($"source.metadata.namespace '{other}' is refused: a Sensor acts only in its own namespace '{ns}'", retryable: false);
        try
        {
            var workflows = await cluster.ResolveAsync(ArgoApiVersion, "Workflow", ct).ConfigureAwait(false);
            switch (operation)
            {
                case "submit":
                    if (resource["kind"]?.GetValue<string>() is { } kind && kind != "Workflow")
                        throw new TriggerException($"source.resource: kind '{kind}' cannot be submitted; submit creates a Workflow (use operation submit-from for a WorkflowTemplate or CronWorkflow)", retryable: false);
                    return await SubmitAsync(workflows, ns, resource, args, firing, context.Time, ct).ConfigureAwait(false);
                case "submit-from":
                    return await SubmitAsync(workflows, ns, await FromAsync(resource, ns, ct).ConfigureAwait(false), args, firing, context.Time, ct).ConfigureAwait(false);
                default:
                    return await OperateAsync(workflows, ns, operation, NameOf(resource), args, firing, context.Time, ct).ConfigureAwait(false);
            }
        }
        catch (ClusterApiException e)
        {
            throw new TriggerException($"{operation}: the API server answered {e.Describe()}", retryable: e.Transient, e);
        }
    }

    private async Task<TriggerResult> SubmitAsync(ClusterResource workflows, string ns, JsonObject wf, ArgoCliArgs args, TriggerFiring firing, TimeProvider time, CancellationToken ct)
    {
        wf["apiVersion"] = ArgoApiVersion;
        wf["kind"] = "Workflow";
        var meta = wf["metadata"] as JsonObject ?? (JsonObject)(wf["metadata"] = new JsonObject());
        meta["namespace"] = ns;
        var wfSpec = wf["spec"] as JsonObject ?? (JsonObject)(wf["spec"] = new JsonObject());
        if (args.Entrypoint is { } entrypoint) wfSpec["entrypoint"] = entrypoint;
        if (args.Name is { } n) { meta["name"] = n; meta.Remove("generateName"); }
        else if (args.GenerateName is { } g) { meta.Remove("name"); meta["generateName"] = g; }
        foreach (var (k, v) in args.Labels) (meta["labels"] as JsonObject ?? (JsonObject)(meta["labels"] = new JsonObject()))[k] = v;
        if (args.Parameters.Count > 0)
        {
            var arguments = wfSpec["arguments"] as JsonObject ?? (JsonObject)(wfSpec["arguments"] = new JsonObject());
            var list = arguments["parameters"] as JsonArray ?? (JsonArray)(arguments["parameters"] = new JsonArray());
            foreach (var (k, v) in args.Parameters)
            {
                if (list.OfType<JsonObject>().FirstOrDefault(p => p["name"]?.GetValue<string>() == k) is { } p) p["value"] = v;
                else list.Add(new JsonObject { ["name"] = k, ["value"] = v });
            }
        }
        if (meta["name"] is null)
        {
            var prefix = meta["generateName"]?.GetValue<string>() ?? $"{firing.Sensor.Name}-{firing.TriggerName}-";
            meta["name"] = DedupKeys.WorkflowName(prefix, ns, firing.Sensor.Name, firing.TriggerName, firing.DedupKey);
            meta.Remove("generateName");
        }
        var labels = meta["labels"] as JsonObject ?? (JsonObject)(meta["labels"] = new JsonObject());
        labels[SensorWorkflowGate.SensorLabel] = firing.Sensor.Name;
        labels[SensorWorkflowGate.TriggerLabel] = firing.TriggerName;
        (meta["annotations"] as JsonObject ?? (JsonObject)(meta["annotations"] = new JsonObject()))[WorkflowCreation.DedupKeyAnnotation] = firing.DedupKey;
        var name = meta["name"]!.GetValue<string>();
        string what;
        try
        {
            await cluster.CreateAsync(workflows, ns, wf, ct).ConfigureAwait(false);
            what = "created in the cluster";
        }
        catch (ClusterApiException e) when (e.Code == 409)
        {
            if (!ClusterK8sTrigger.MadeBy(await cluster.GetAsync(workflows, ns, name, ct).ConfigureAwait(false), firing))
                throw new TriggerException($"workflow '{name}' already exists in namespace '{ns}' (the manifest names it; use generateName to create one per event): {e.Describe()}", retryable: false, e);
            what = "already existed in the cluster (created by an earlier pass over this firing)";
        }
        await ClusterK8sPolicy.WaitAsync(cluster, workflows, ns, name, firing, time, ct).ConfigureAwait(false);
        return new TriggerResult($"workflow {name} {what}", "Workflow", name);
    }

    /// <summary>What <c>argo submit --from KIND/NAME</c> creates: a reference to a template, or a CronWorkflow's workflow.</summary>
    private async Task<JsonObject> FromAsync(JsonObject resource, string ns, CancellationToken ct)
    {
        var kind = resource["kind"]?.GetValue<string>();
        var name = NameOf(resource);
        switch (kind)
        {
            case "WorkflowTemplate" or "ClusterWorkflowTemplate":
                var templateRef = new JsonObject { ["name"] = name };
                if (kind == "ClusterWorkflowTemplate") templateRef["clusterScope"] = true;
                return new JsonObject
                {
                    ["metadata"] = new JsonObject { ["generateName"] = name + "-", ["labels"] = new JsonObject { ["workflows.argoproj.io/" + (kind == "WorkflowTemplate" ? "workflow-template" : "cluster-workflow-template")] = name } },
                    ["spec"] = new JsonObject { ["workflowTemplateRef"] = templateRef },
                };
            case "CronWorkflow":
                var crons = await cluster.ResolveAsync(ArgoApiVersion, "CronWorkflow", ct).ConfigureAwait(false);
                var cron = await cluster.GetAsync(crons, ns, name, ct).ConfigureAwait(false)
                    ?? throw new TriggerException($"submit-from: CronWorkflow {ns}/{name} not found in the cluster", retryable: false);
                return new JsonObject
                {
                    ["metadata"] = new JsonObject { ["generateName"] = name + "-", ["labels"] = new JsonObject { ["workflows.argoproj.io/cron-workflow"] = name } },
                    ["spec"] = cron["spec"]?["workflowSpec"]?.DeepClone() ?? new JsonObject(),
                };
            default:
                throw new TriggerException($"submit-from runs a WorkflowTemplate, ClusterWorkflowTemplate or CronWorkflow, not a {kind}", retryable: false);
        }
    }

    private async Task<TriggerResult> OperateAsync(ClusterResource workflows, string ns, string operation, string name, ArgoCliArgs args, TriggerFiring firing, TimeProvider time, CancellationToken ct)
    {
        static TriggerException NeedsServer(string what) =>
            new($"{what} needs argo-server (it rewrites the workflow's node statuses), which --workflows-target cluster does not call; use the embedded target or an http trigger to argo-server's API", retryable: false);
        JsonObject? patch = null;
        switch (operation)
        {
            case "suspend": patch = Spec(new JsonObject { ["suspend"] = true }); break;
            case "resume":
                if (args.NodeFieldSelector is not null) throw NeedsServer("resume --node-field-selector");
                patch = Spec(new JsonObject { ["suspend"] = null });
                break;
            case "terminate": patch = Spec(new JsonObject { ["shutdown"] = "Terminate" }); break;
            case "stop":
                if (args.NodeFieldSelector is not null) throw NeedsServer("stop --node-field-selector");
                patch = Spec(new JsonObject { ["shutdown"] = "Stop" });
                break;
            case "retry": throw NeedsServer("retry");
            case "resubmit":
                if (args.Memoized) throw NeedsServer("resubmit --memoized");
                var old = await cluster.GetAsync(workflows, ns, name, ct).ConfigureAwait(false)
                    ?? throw new TriggerException($"resubmit: workflow {ns}/{name} not found in the cluster", retryable: false);
                var labels = (old["metadata"]?["labels"] as JsonObject)?.DeepClone() as JsonObject ?? new JsonObject();
                foreach (var runtime in new[] { "workflows.argoproj.io/phase", "workflows.argoproj.io/completed", "workflows.argoproj.io/workflow-archiving-status" }) labels.Remove(runtime);
                labels["workflows.argoproj.io/resubmitted-from-workflow"] = name;
                var copy = new JsonObject
                {
                    ["metadata"] = new JsonObject { ["name"] = DedupKeys.WorkflowName($"{name}-", ns, firing.Sensor.Name, firing.TriggerName, firing.DedupKey), ["labels"] = labels },
                    ["spec"] = old["spec"]?.DeepClone() ?? new JsonObject(),
                };
                (copy["spec"] as JsonObject)?.Remove("shutdown");
                return await SubmitAsync(workflows, ns, copy, ArgoCliArgs.Parse(null, "submit", "", (_, _) => { }), firing, time, ct).ConfigureAwait(false);
            default: throw new TriggerException($"operation '{operation}' is not one of {string.Join(", ", ArgoWorkflowTrigger.Operations)}", retryable: false);
        }
        try
        {
            await cluster.PatchAsync(workflows, ns, name, patch, ClusterPatch.Merge, ct).ConfigureAwait(false);
        }
        catch (ClusterApiException e) when (e.Code == 404)
        {
            throw new TriggerException($"{operation}: workflow {ns}/{name} not found in the cluster", retryable: false, e);
        }
        return new TriggerResult($"workflow {name}: {operation} written to the cluster");
    }

    private static JsonObject Spec(JsonObject fields) => new() { ["spec"] = fields };

    private static string NameOf(JsonObject resource) =>
        resource["metadata"]?["name"]?.GetValue<string>() is { Length: > 0 } name ? name
            : throw new TriggerException("source.resource.metadata.name: missing: the workflow to act on (set it with a parameter)", retryable: false);
}
