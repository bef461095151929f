using System.Text.Json;
using System.Text.Json.Nodes;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Workflows.Cluster;

namespace EventGateway.Events.Sensors.Triggers;

/// <summary>
/// <c>k8s</c> trigger in Kubernetes mode: one operation on one object of ANY kind the cluster serves (found by apiVersion
/// and kind through discovery), as Argo Events' standard k8s trigger does:
/// <list type="bullet">
/// <item><c>create</c> POSTs the source; a generateName becomes a name derived from the firing (and the object is
/// marked with it), so a replayed firing finds what it created instead of making a second one.</item>
/// <item><c>update</c> reads the live object, writes the source over it (mappings merge, lists are replaced, nothing
/// is removed, as Argo's merge before its PUT) and PUTs it with the read resourceVersion; a 409 Conflict reads again.</item>
/// <item><c>patch</c> sends the source with <c>patchStrategy</c>: merge (default) or strategic merge; the API server
/// applies it (strategic merge only for built-in kinds: a CRD answers 415).</item>
/// <item>update and patch create the object when it does not exist; <c>delete</c> of a missing object does nothing.</item>
/// </list>
/// The object's namespace is the Sensor's (another one is refused, as in the embedded mode: one service account acts
/// for every Sensor, so namespaces stay walls); cluster-scoped kinds are refused for the same reason. Refusals of the
/// API server (403, 404, 409, 422 …) fail the firing with the Status message; only server trouble (5xx, 429) is retried.
/// </summary>
public sealed class ClusterK8sTrigger(IClusterObjects cluster) : ITrigger
{
    public string Kind => "k8s";

    public async Task<TriggerResult> FireAsync(TriggerFiring firing, TriggerContext context, CancellationToken ct)
    {
        var k8s = firing.Trigger.Template?.K8s ?? throw new TriggerException("template.k8s: missing", retryable: false);
        var problems = new List<string>();
        var spec = TriggerSpec.Read<K8sTriggerSpec>(k8s, "template.k8s", (p, r) => problems.Add($"{p}: {r}"));
        spec?.Validate("template.k8s", null, (p, r) => problems.Add($"{p}: {r}"), cluster: true);
        if (spec is null || problems.Count > 0) throw TriggerSpec.Refusal(problems);

        var operation = spec.EffectiveOperation;
        var resource = spec.LiveObject == true
            ? await LiveObjectAsync(k8s, firing, context, ct).ConfigureAwait(false)
            : await TriggerSource.LoadAsync(k8s, firing, context, ct).ConfigureAwait(false);
        var (type, ns) = await TargetAsync(resource, firing, ct).ConfigureAwait(false);
        var name = resource["metadata"]?["name"]?.GetValue<string>();
        var meta = resource["metadata"] as JsonObject ?? (JsonObject)(resource["metadata"] = new JsonObject());
        meta["namespace"] = ns;

        try
        {
            if (operation == "create") return await CreateAsync(type, ns, resource, firing, context, ct).ConfigureAwait(false);
            if (string.IsNullOrEmpty(name))
                throw new TriggerException($"source.metadata.name: missing: {operation} acts on an existing {type.Kind}, named by metadata.name", retryable: false);
            if (operation == "delete")
            {
                var deleted = await cluster.DeleteAsync(type, ns, name, ct).ConfigureAwait(false);
                return new TriggerResult(deleted ? $"{type.Kind} {ns}/{name} deleted" : $"{type.Kind} {ns}/{name} not found, nothing to delete");
            }
            if (operation == "patch")
            {
                var how = spec.EffectivePatchStrategy == K8sTriggerSpec.StrategicMergePatch ? ClusterPatch.StrategicMerge : ClusterPatch.Merge;
                JsonObject patched;
                try { patched = await cluster.PatchAsync(type, ns, name, resource, how, ct).ConfigureAwait(false); }
                catch (ClusterApiException e) when (e.Code == 404) { return await CreateAsync(type, ns, resource, firing, context, ct).ConfigureAwait(false); }
                return await DoneAsync(type, ns, patched, "patched", firing, context, ct).ConfigureAwait(false);
            }
            for (var attempt = 0; ; attempt++)
            {
                var live = await cluster.GetAsync(type, ns, name, ct).ConfigureAwait(false);
                if (live is null) return await CreateAsync(type, ns, resource, firing, context, ct).ConfigureAwait(false);
                Override(live, resource);
                try
                {
                    var updated = await cluster.ReplaceAsync(type, ns, name, live, ct).ConfigureAwait(false);
                    return await DoneAsync(type, ns, updated, "updated", firing, context, ct).ConfigureAwait(false);
                }
                catch (ClusterApiException e) when (e.Code == 409 && attempt < 5) { } // written since we read it: read again
            }
        }
        catch (ClusterApiException e)
        {
            throw new TriggerException($"{operation} {type.Kind} {ns}/{name ?? meta["generateName"]?.GetValue<string>() + "…"}: the API server answered {e.Describe()}", retryable: e.Transient, e);
        }
    }

    private async Task<TriggerResult> CreateAsync(ClusterResource type, string ns, JsonObject resource, TriggerFiring firing, TriggerContext context, CancellationToken ct)
    {
        var meta = (JsonObject)resource["metadata"]!;
        if (meta["name"] is null)
        {
            var prefix = meta["generateName"]?.GetValue<string>() ?? $"{firing.Sensor.Name}-{firing.TriggerName}-";
            meta["name"] = DedupKeys.WorkflowName(prefix, firing.Namespace, firing.Sensor.Name, firing.TriggerName, firing.DedupKey);
            meta.Remove("generateName");
        }
        Mark(meta, firing);
        var name = meta["name"]!.GetValue<string>();
        JsonObject created;
        try
        {
            created = await cluster.CreateAsync(type, ns, resource, ct).ConfigureAwait(false);
        }
        catch (ClusterApiException e) when (e.Code == 409)
        {
            var existing = await cluster.GetAsync(type, ns, name, ct).ConfigureAwait(false);
            if (!MadeBy(existing, firing))
                throw new TriggerException($"create {type.Kind} {ns}/{name}: the API server answered {e.Describe()} (use operation update or patch to change it)", retryable: false, e);
            return await DoneAsync(type, ns, existing!, "already existed (created by an earlier pass over this firing)", firing, context, ct).ConfigureAwait(false);
        }
        return await DoneAsync(type, ns, created, "created", firing, context, ct).ConfigureAwait(false);
    }

    private async Task<TriggerResult> DoneAsync(ClusterResource type, string ns, JsonObject obj, string what, TriggerFiring firing, TriggerContext context, CancellationToken ct)
    {
        var name = obj["metadata"]?["name"]?.GetValue<string>() ?? "";
        var result = new TriggerResult($"{type.Kind} {ns}/{name} {what} (resourceVersion {obj["metadata"]?["resourceVersion"]})", type.Kind, name);
        await ClusterK8sPolicy.WaitAsync(cluster, type, ns, name, firing, context.Time, ct).ConfigureAwait(false);
        return result;
    }

    /// <summary>The kind as the cluster serves it and the namespace to act in (the Sensor's).</summary>
    private async Task<(ClusterResource, string)> TargetAsync(JsonObject resource, TriggerFiring firing, CancellationToken ct)
    {
        var kind = K8sTriggerSpec.KindOf(resource);
        if (K8sTriggerSpec.KindProblem(kind, cluster: true) is { } why) throw new TriggerException($"source kind: {why}", retryable: false);
        var apiVersion = resource["apiVersion"] is JsonValue v && v.TryGetValue<string>(out var av) && av.Length > 0 ? av
            : throw new TriggerException("source.apiVersion: missing: the cluster finds the kind by apiVersion and kind", retryable: false);
        ClusterResource type;
        try { type = await cluster.ResolveAsync(apiVersion, kind!, ct).ConfigureAwait(false); }
        catch (ClusterApiException e) { throw new TriggerException($"source kind {kind} ({apiVersion}): {e.Message}", retryable: e.Transient, e); }
        if (!type.Namespaced)
            throw new TriggerException($"source kind {kind} is cluster-scoped ({type}); a Sensor acts only on objects of its own namespace '{firing.Namespace}'", retryable: false);
        var ns = resource["metadata"]?["namespace"]?.GetValue<string>();
        if (!string.IsNullOrEmpty(ns) && ns != firing.Namespace)
            throw new TriggerException($"source.metadata.namespace '{ns}' is refused: a Sensor acts only in its own namespace '{firing.Namespace}'", retryable: false);
        return (type, firing.Namespace);
    }

    /// <summary><c>liveObject</c>: the cluster's object the source names, with the trigger's parameters applied to it.</summary>
    private async Task<JsonObject> LiveObjectAsync(JsonObject k8s, TriggerFiring firing, TriggerContext context, CancellationToken ct)
    {
        var withoutParameters = (JsonObject)k8s.DeepClone();
        withoutParameters.Remove("parameters");
        var named = await TriggerSource.LoadAsync(withoutParameters, firing, context, ct).ConfigureAwait(false);
        var (type, ns) = await TargetAsync(named, firing, ct).ConfigureAwait(false);
        var name = named["metadata"]?["name"]?.GetValue<string>()
            ?? throw new TriggerException("source.metadata.name: missing: liveObject needs the name of the live object", retryable: false);
        JsonObject? live;
        try { live = await cluster.GetAsync(type, ns, name, ct).ConfigureAwait(false); }
        catch (ClusterApiException e) { throw new TriggerException($"liveObject: {type.Kind} {ns}/{name}: {e.Describe()}", retryable: e.Transient, e); }
        if (live is null) throw new TriggerException($"liveObject: {type.Kind} {ns}/{name} not found", retryable: false);
        return TriggerSpec.ApplyParameters(live, firing.Trigger.Template!.K8s!["parameters"]?.Deserialize<List<TriggerParameter>>(Json.Lenient), firing, "template.k8s");
    }

    /// <summary>Argo's update (mergo with override): what the source sets wins, mappings merge, lists are replaced, nothing is removed.</summary>
    private static void Override(JsonObject target, JsonObject source)
    {
        foreach (var (key, value) in source)
        {
            if (value is null) continue;
            if (value is JsonObject s && target[key] is JsonObject t) Override(t, s);
            else target[key] = value.DeepClone();
        }
    }

    /// <summary>The marks of <see cref="WorkflowCreation.Mark"/>, on a JSON object.</summary>
    private static void Mark(JsonObject meta, TriggerFiring firing)
    {
        var labels = meta["labels"] as JsonObject ?? (JsonObject)(meta["labels"] = new JsonObject());
        labels[SensorWorkflowGate.SensorLabel] = firing.Sensor.Name;
        labels[SensorWorkflowGate.TriggerLabel] = firing.TriggerName;
        (meta["annotations"] as JsonObject ?? (JsonObject)(meta["annotations"] = new JsonObject()))[WorkflowCreation.DedupKeyAnnotation] = firing.DedupKey;
    }

    internal static bool MadeBy(JsonObject? existing, TriggerFiring firing) =>
        existing?["metadata"]?["annotations"]?[WorkflowCreation.DedupKeyAnnotation]?.GetValue<string>() == firing.DedupKey
        && existing["metadata"]?["labels"]?[SensorWorkflowGate.TriggerLabel]?.GetValue<string>() == firing.TriggerName;
}

/// <summary>
/// <c>policy.k8s</c> in Kubernetes mode: after the trigger's write, watch the object until its labels match. The
/// backoff bounds the wait (the sum of its delays, on the injected clock) instead of pacing polls: a matching change
/// ends the wait the moment the watch delivers it. When the time is up, <c>errorOnBackoffTimeout</c> decides between
/// a failed trigger and a success as is.
/// </summary>
public static class ClusterK8sPolicy
{
    public static async Task WaitAsync(IClusterObjects cluster, ClusterResource type, string ns, string name, TriggerFiring firing, TimeProvider time, CancellationToken ct)
    {
        if (firing.Trigger.Policy?["k8s"] is not JsonObject policy) return;
        var wanted = policy["labels"]?.AsObject().ToDictionary(kv => kv.Key, kv => kv.Value?.ToString() ?? "") ?? [];
        if (wanted.Count == 0) return;
        TriggerRetry.Backoff backoff;
        try { backoff = TriggerRetry.Parse(policy["backoff"] as JsonObject); }
        catch (FormatException e) { throw new TriggerException($"policy.k8s.backoff.{e.Message}", retryable: false); }
        var budget = TimeSpan.Zero;
        for (var i = 0; i + 1 < backoff.Steps; i++) budget += TriggerRetry.DelayBefore(backoff, i);

        // The clock starts once the object has been seen as it is now, so even a one-step backoff checks it once.
        using var timeout = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        Dictionary<string, string> seen = [];
        var first = true;
        try
        {
            await foreach (var obj in cluster.WatchAsync(type, ns, name, linked.Token).ConfigureAwait(false))
            {
                seen = obj?["metadata"]?["labels"] is JsonObject l ? l.ToDictionary(kv => kv.Key, kv => kv.Value?.ToString() ?? "") : [];
                if (wanted.All(kv => seen.GetValueOrDefault(kv.Key) == kv.Value)) return;
                if (!first) continue;
                first = false;
                if (budget <= TimeSpan.Zero) break;
                timeout.CancelAfter(budget);
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !ct.IsCancellationRequested) { }
        catch (ClusterApiException e)
        {
            throw new TriggerException($"policy.k8s: watching {type.Kind} {ns}/{name}: {e.Describe()}", retryable: e.Transient, e);
        }
        if (policy["errorOnBackoffTimeout"]?.GetValue<bool>() == true)
            throw new TriggerException(
                $"policy.k8s: {type.Kind} {ns}/{name} did not reach labels {Describe(wanted)} within {budget.TotalSeconds:0.###} s ({backoff.Steps} backoff steps) (has {Describe(seen.Where(kv => wanted.ContainsKey(kv.Key)))})",
                retryable: false);
    }

    private static string Describe(IEnumerable<KeyValuePair<string, string>> labels) =>
        "{" + string.Join(", ", labels.Select(kv => $"{kv.Key}: {kv.Value}")) + "}";
}
