using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Workflows.Cluster;
using EventGateway.Workflows.Controller;

namespace EventGateway.Workflows.Agent;

/// <summary>
/// Argo's <c>resource</c> template in Kubernetes mode: the action on an object of any kind the cluster serves, then
/// (unless deleted) successCondition/failureCondition checked on every watch event of the object — no polling — until
/// one decides or the template's deadline (or a kill of the node) ends the wait. Actions as kubectl's:
/// <list type="bullet">
/// <item><c>create</c> POSTs the manifest, marked with the node; a generateName becomes a name derived from the workflow
/// and node, so the node's second run after a restart of egw finds its object (and watches it again) instead of making
/// another.</item>
/// <item><c>apply</c> creates, or merge-patches the live object with the manifest (no last-applied record: a field dropped
/// from the manifest stays); <c>replace</c> PUTs the manifest over the live object; <c>patch</c> sends it with
/// mergeStrategy (merge, strategic — the API server's, built-in kinds only — or json, a list of operations whose target
/// flags name: <c>[deployment.v1.apps/web]</c> or <c>[configmap, settings]</c>); <c>delete</c> ignores a missing object;
/// <c>get</c> reads it.</item>
/// </list>
/// Namespaces stay walls (the workflow's own; cluster-scoped kinds are read-only) and Secrets are read-only, as in the
/// embedded mode. setOwnerReference is refused: the workflow is not an object of the cluster, and the garbage collector
/// deletes dependents whose owner uid it cannot find.
/// </summary>
public sealed class ClusterResourceTemplateRunner(IClusterObjects cluster, TimeProvider time) : ITemplateRunner
{
    public TemplateType Type => TemplateType.Resource;

    private sealed record Target(ClusterResource Type, string? Namespace, string? Name, JsonNode Manifest)
    {
        public string Shown => $"{Type.Kind} {(Namespace is null ? "" : Namespace + "/")}{Name}";
    }

    public async Task<PodResult> RunAsync(Workflow wf, PodRequest pod, CancellationToken ct)
    {
        var started = time.GetUtcNow();
        PodResult End(string phase, string? message, Outputs? outputs = null) => new(pod.NodeId, phase, message, null, outputs, started, time.GetUtcNow());

        using var deadline = pod.ActiveDeadline is { } d ? new CancellationTokenSource(d, time) : new CancellationTokenSource();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, deadline.Token);
        try
        {
            var r = pod.Template.Resource!;
            var (target, problem) = await TargetAsync(r, wf, linked.Token).ConfigureAwait(false);
            if (target is null) return End(NodePhase.Error, problem);
            var (obj, failure) = await ActAsync(r, target, wf, pod, linked.Token).ConfigureAwait(false);
            if (failure is not null) return End(NodePhase.Failed, failure);
            if (obj is not null && (r.SuccessCondition is { Length: > 0 } || r.FailureCondition is { Length: > 0 }))
            {
                (obj, failure) = await AwaitConditionsAsync(r, target with { Name = obj!["metadata"]?["name"]?.GetValue<string>() }, linked.Token).ConfigureAwait(false);
                if (failure is not null) return End(NodePhase.Failed, failure);
            }
            var (parameters, error) = ResourceOutputs.Read(pod.Template, obj is null ? null : JsonSerializer.SerializeToElement(obj));
            return error is not null ? End(NodePhase.Error, error) : End(NodePhase.Succeeded, null, parameters is null ? null : new Outputs { Parameters = parameters });
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return End(NodePhase.Failed, "Step exceeded its deadline");
        }
        catch (ClusterApiException e) when (!e.Transient)
        {
            return End(NodePhase.Failed, $"the API server answered {e.Describe()}");
        }
        catch (ClusterApiException e)
        {
            return End(NodePhase.Error, $"the API server answered {e.Describe()}"); // server trouble: the node's retryStrategy may try again
        }
        catch (FormatException e)
        {
            return End(NodePhase.Failed, e.Message);
        }
    }

    private async Task<(Target?, string?)> TargetAsync(ResourceTemplate r, Workflow wf, CancellationToken ct)
    {
        if (r.ManifestFrom is not null) return (null, "resource.manifestFrom is not supported here: put the manifest in resource.manifest");
        if (r.Manifest is not { } text) return (null, "resource.manifest is missing");
        List<YamlToJson.Document> docs;
        try { docs = YamlToJson.Convert(text); }
        catch (YamlToJson.SyntaxError e) { return (null, $"resource.manifest is not valid YAML: {e.Message}"); }
        if (docs.Count != 1) return (null, $"resource.manifest must hold exactly one object, not {docs.Count}");
        var manifest = JsonNode.Parse(docs[0].Json)!;
        var wfNs = wf.NamespaceOrDefault;

        ClusterResource type;
        string? name, ns = null;
        if (manifest is JsonArray)
        {
            if (r.MergeStrategy != "json") return (null, "resource.manifest is a list, which only mergeStrategy: json (a JSON patch) takes");
            var flags = (r.Flags ?? []).SelectMany(f => f.Split('/', 2)).ToList();
            if (flags.Count != 2) return (null, "resource.flags must name the object a JSON patch applies to: [KIND, NAME] or [KIND/NAME] (KIND as kubectl takes it: configmap, deployment.v1.apps)");
            // kubectl's RESOURCE[.VERSION[.GROUP]]: core v1 when only a kind is given.
            var parts = flags[0].Split('.', 3);
            var apiVersion = parts.Length switch { 1 => "v1", 2 => parts[1], _ => $"{parts[2]}/{parts[1]}" };
            type = await cluster.ResolveAsync(apiVersion, parts[0], ct).ConfigureAwait(false);
            name = flags[1];
        }
        else if (manifest is JsonObject o)
        {
            if (r.Flags is { Count: > 0 }) return (null, "resource.flags are kubectl arguments; only a JSON patch's target [KIND, NAME] is understood here");
            var kind = o["kind"]?.GetValue<string>();
            var apiVersion = o["apiVersion"]?.GetValue<string>();
            if (kind is null || apiVersion is null) return (null, "resource.manifest needs apiVersion and kind: the cluster finds the kind by both");
            name = o["metadata"]?["name"]?.GetValue<string>();
            ns = o["metadata"]?["namespace"]?.GetValue<string>();
            if (name is null && !(r.Action == "create" && o["metadata"]?["generateName"] is not null))
                return (null, "resource.manifest has no metadata.name");
            if (r.SetOwnerReference == true)
                return (null, "resource.setOwnerReference is refused in Kubernetes mode: the workflow runs in this service, not as a Workflow object of the cluster, and the garbage collector would delete an object whose owner it cannot find");
            type = await cluster.ResolveAsync(apiVersion, kind, ct).ConfigureAwait(false);
        }
        else return (null, "resource.manifest must be an object (or a list of JSON patch operations)");

        if (!type.Namespaced)
            return r.Action == "get" ? (new Target(type, null, name, manifest), null)
                : (null, $"resource.action '{r.Action}' on {type.Kind}, which is cluster-scoped, is refused: a workflow changes only objects in its own namespace '{wfNs}'");
        if (!string.IsNullOrEmpty(ns) && ns != wfNs)
            return (null, $"resource.manifest metadata.namespace '{ns}' is refused: a workflow acts only in its own namespace '{wfNs}'");
        if (type.Kind == "Secret" && type.Group.Length == 0 && r.Action != "get")
            return (null, $"resource.action '{r.Action}' on a Secret is refused: Secrets hold credentials and API tokens");
        if (manifest is JsonObject m) (m["metadata"] as JsonObject ?? (JsonObject)(m["metadata"] = new JsonObject()))["namespace"] = wfNs;
        return (new Target(type, wfNs, name, manifest), null);
    }

    private async Task<(JsonObject? Object, string? Failure)> ActAsync(ResourceTemplate r, Target t, Workflow wf, PodRequest pod, CancellationToken ct)
    {
        switch (r.Action)
        {
            case "delete":
                await cluster.DeleteAsync(t.Type, t.Namespace, t.Name!, ct).ConfigureAwait(false);
                return (null, null);
            case "get":
                return await cluster.GetAsync(t.Type, t.Namespace, t.Name!, ct).ConfigureAwait(false) is { } got ? (got, null) : (null, $"{t.Shown} not found");
            case "create":
            {
                var mark = $"{wf.Metadata.Uid}/{pod.NodeId}";
                var manifest = (JsonObject)t.Manifest.DeepClone();
                var meta = (JsonObject)manifest["metadata"]!;
                if (t.Name is null)
                {
                    // Named from the workflow and node rather than at random, so a second run of the node finds it.
                    var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(mark)))[..5];
                    meta["name"] = meta["generateName"]!.GetValue<string>() + hash;
                    meta.Remove("generateName");
                }
                (meta["annotations"] as JsonObject ?? (JsonObject)(meta["annotations"] = new JsonObject()))[ResourceTemplateRunner.CreatedByAnnotation] = mark;
                var name = meta["name"]!.GetValue<string>();
                try
                {
                    return (await cluster.CreateAsync(t.Type, t.Namespace, manifest, ct).ConfigureAwait(false), null);
                }
                catch (ClusterApiException e) when (e.Code == 409)
                {
                    var existing = await cluster.GetAsync(t.Type, t.Namespace, name, ct).ConfigureAwait(false);
                    if (existing?["metadata"]?["annotations"]?[ResourceTemplateRunner.CreatedByAnnotation]?.GetValue<string>() == mark) return (existing, null);
                    throw;
                }
            }
            case "apply":
                try { return (await cluster.PatchAsync(t.Type, t.Namespace, t.Name!, t.Manifest, ClusterPatch.Merge, ct).ConfigureAwait(false), null); }
                catch (ClusterApiException e) when (e.Code == 404) { return (await cluster.CreateAsync(t.Type, t.Namespace, (JsonObject)t.Manifest.DeepClone(), ct).ConfigureAwait(false), null); }
            case "replace":
            {
                for (var attempt = 0; ; attempt++)
                {
                    var live = await cluster.GetAsync(t.Type, t.Namespace, t.Name!, ct).ConfigureAwait(false);
                    if (live is null) return (null, $"{t.Shown} not found");
                    var next = (JsonObject)t.Manifest.DeepClone();
                    next["metadata"]!["resourceVersion"] = live["metadata"]?["resourceVersion"]?.DeepClone();
                    try { return (await cluster.ReplaceAsync(t.Type, t.Namespace, t.Name!, next, ct).ConfigureAwait(false), null); }
                    catch (ClusterApiException e) when (e.Code == 409 && attempt < 5) { }
                }
            }
            case "patch":
            {
                var how = r.MergeStrategy switch { "json" => ClusterPatch.Json, "merge" => ClusterPatch.Merge, _ => ClusterPatch.StrategicMerge };
                try { return (await cluster.PatchAsync(t.Type, t.Namespace, t.Name!, t.Manifest, how, ct).ConfigureAwait(false), null); }
                catch (ClusterApiException e) when (e.Code == 404) { return (null, $"{t.Shown} not found"); }
            }
            default:
                return (null, $"resource.action '{r.Action}' is not one of {string.Join(", ", ResourceTemplateRunner.Actions)}");
        }
    }

    /// <summary>Checks each state the watch delivers: the failure condition (any requirement) first, then the success condition (all).</summary>
    private async Task<(JsonObject? Object, string? Failure)> AwaitConditionsAsync(ResourceTemplate r, Target t, CancellationToken ct)
    {
        var success = r.SuccessCondition is { Length: > 0 } s ? ResourceCondition.Parse(s) : null;
        var failure = r.FailureCondition is { Length: > 0 } f ? ResourceCondition.Parse(f) : null;
        await foreach (var obj in cluster.WatchAsync(t.Type, t.Namespace, t.Name!, ct).ConfigureAwait(false))
        {
            if (obj is null) return (null, $"{t.Shown} was deleted while its conditions were being checked");
            var json = JsonSerializer.SerializeToElement(obj);
            if (failure?.FirstMatching(json) is { } matched) return (obj, $"failure condition '{matched}' evaluated true");
            if (success is null || success.All(json)) return (obj, null);
        }
        throw new OperationCanceledException(ct);
    }
}
