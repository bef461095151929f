using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Workflows.Controller;
using EventGateway.Workflows.Store;
using EventGateway.Workflows.Submission;

namespace EventGateway.Workflows.Agent;

/// <summary>
/// Argo's <c>resource</c> template against the embedded store: create, apply, replace, patch, delete or get one
/// object of a kind the store keeps, then (unless deleted) wait until successCondition holds or failureCondition
/// matches. The wait re-checks on every change of the object the store announces, so it costs nothing while
/// nothing changes; the template's activeDeadlineSeconds, or a kill of the node, ends it. Objects are checked like
/// any applied manifest, and a Workflow is created through the <see cref="WorkflowSubmitter"/>.
/// </summary>
/// <remarks>
/// apply merges the manifest onto an existing object (JSON merge patch), without kubectl's record of what it
/// applied before: a field dropped from the manifest stays. Strategic merge is a JSON merge patch (lists replaced).
/// </remarks>
public sealed class ResourceTemplateRunner(IResourceStore store, WorkflowSubmitter submitter, ManifestParser manifests, TimeProvider time) : ITemplateRunner
{
    public static readonly string[] Actions = ["create", "apply", "replace", "patch", "delete", "get"];
    public static readonly string[] MergeStrategies = ["strategic", "merge", "json"];

    /// <summary>On objects a create made: "{workflow uid}/{node id}", so the node's second run after a restart finds them.</summary>
    public const string CreatedByAnnotation = "eventgateway.io/created-by-node";

    public TemplateType Type => TemplateType.Resource;

    public async Task<PodResult> RunAsync(Workflow wf, PodRequest pod, CancellationToken ct)
    {
        var started = time.GetUtcNow();
        PodResult End(string phase, string? message, Outputs? outputs = null) => new(pod.NodeId, phase, message, null, outputs, started, time.GetUtcNow());

        using var deadline = pod.ActiveDeadline is { } d ? new CancellationTokenSource(d, time) : new CancellationTokenSource();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, deadline.Token);
        try
        {
            var r = pod.Template.Resource!;
            var (target, problem) = Target(r, wf);
            if (target is null) return End(NodePhase.Error, problem);
            var (obj, failure) = await ActAsync(r, target, wf, pod, linked.Token).ConfigureAwait(false);
            if (failure is not null) return End(NodePhase.Failed, failure);
            if (obj is not null && (r.SuccessCondition is { Length: > 0 } || r.FailureCondition is { Length: > 0 }))
            {
                // A created object may have had only a generateName; the store named it.
                var name = obj.Value.GetProperty("metadata").GetProperty("name").GetString();
                (obj, failure) = await AwaitConditionsAsync(r, target with { Name = name }, linked.Token).ConfigureAwait(false);
                if (failure is not null) return End(NodePhase.Failed, failure);
            }
            var (parameters, error) = ResourceOutputs.Read(pod.Template, obj);
            return error is not null ? End(NodePhase.Error, error) : End(NodePhase.Succeeded, null, parameters is null ? null : new Outputs { Parameters = parameters });
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return End(NodePhase.Failed, "Step exceeded its deadline");
        }
        catch (Exception e) when (e is FormatException or ManifestException or ConflictException)
        {
            return End(NodePhase.Failed, e.Message);
        }
    }

    /// <summary>The object a template acts on: kind, namespace and name from the manifest (or from flags for a JSON patch).</summary>
    private sealed record TargetObject(string Kind, string Namespace, string? Name, JsonNode Manifest, StoreKind Ops)
    {
        public string Shown => $"{Kind} {(Namespace.Length == 0 ? "" : Namespace + "/")}{Name}";
    }

    private static (TargetObject? Target, string? Problem) Target(ResourceTemplate r, Workflow wf)
    {
        if (r.ManifestFrom is not null) return (null, "resource.manifestFrom is not supported here: put the manifest in resource.manifest");
        if (r.Manifest is not { } text) return (null, "resource.manifest is missing");
        List<YamlToJson.Document> docs;
        try { docs = YamlToJson.Convert(text); }
        catch (YamlToJson.SyntaxError e) { return (null, $"resource.manifest is not valid YAML: {e.Message}"); }
        if (docs.Count != 1) return (null, $"resource.manifest must hold exactly one object, not {docs.Count}");
        var manifest = JsonNode.Parse(docs[0].Json)!;

        string? kind, name, ns = null;
        if (manifest is JsonArray)
        {
            if (r.MergeStrategy != "json") return (null, "resource.manifest is a list, which only mergeStrategy: json (a JSON patch) takes");
            // kubectl names a JSON patch's target on its command line: flags [KIND, NAME] or [KIND/NAME].
            var flags = (r.Flags ?? []).SelectMany(f => f.Split('/', 2)).ToList();
            if (flags.Count != 2) return (null, "resource.flags must name the object a JSON patch applies to: [KIND, NAME] or [KIND/NAME]");
            (kind, name) = (KindNamed(flags[0]), flags[1]);
        }
        else if (manifest is JsonObject o)
        {
            if (r.Flags is { Count: > 0 }) return (null, "resource.flags are kubectl arguments; only a JSON patch's target [KIND, NAME] is understood here");
            kind = o["kind"]?.GetValue<string>();
            name = o["metadata"]?["name"]?.GetValue<string>();
            ns = o["metadata"]?["namespace"]?.GetValue<string>();
            if (kind is null) return (null, "resource.manifest has no kind");
            if (name is null && !(r.Action == "create" && o["metadata"]?["generateName"] is not null))
                return (null, "resource.manifest has no metadata.name");
            if (r.SetOwnerReference == true)
            {
                var meta = o["metadata"] as JsonObject ?? (JsonObject)(o["metadata"] = new JsonObject());
                var refs = meta["ownerReferences"] as JsonArray ?? (JsonArray)(meta["ownerReferences"] = new JsonArray());
                refs.Add(new JsonObject
                {
                    ["apiVersion"] = Resources.ArgoApiVersion, ["kind"] = "Workflow", ["name"] = wf.Name,
                    ["uid"] = wf.Metadata.Uid, ["blockOwnerDeletion"] = true, ["controller"] = true,
                });
            }
        }
        else return (null, "resource.manifest must be an object (or a list of JSON patch operations)");

        if (kind is null || !StoreKind.All.TryGetValue(kind, out var ops))
            return (null, UnknownKind(kind));
        if (NamespaceWall(kind, ns, r.Action, wf.NamespaceOrDefault) is { } refused) return (null, refused);
        // A workflow runs with no more than its submitter's API grant (submit, in its namespace): Secrets hold credentials
        // and that namespace's API tokens, so a resource template may read them (as a step's env can) but never change them.
        if (kind == nameof(Secret) && r.Action != "get")
            return (null, $"resource.action '{r.Action}' on a Secret is refused: Secrets hold credentials and API tokens; apply them with `egw apply`");
        ns = Resources.IsClusterScoped(kind) ? "" : wf.NamespaceOrDefault;
        return (new TargetObject(kind, ns, name, manifest, ops), null);
    }

    /// <summary>
    /// Namespaces are walls: a resource template acts only on objects of its workflow's namespace, as a workflow's service
    /// account is bound to its own namespace. Cluster-scoped objects are shared by every namespace, so they may be read, not changed.
    /// </summary>
    internal static string? NamespaceWall(string kind, string? manifestNamespace, string? action, string workflowNamespace)
    {
        if (Resources.IsClusterScoped(kind))
            return action == "get" ? null : $"resource.action '{action}' on {kind}, which is cluster-scoped, is refused: a workflow changes only objects in its own namespace '{workflowNamespace}'";
        if (!string.IsNullOrEmpty(manifestNamespace) && manifestNamespace != workflowNamespace)
            return $"resource.manifest metadata.namespace '{manifestNamespace}' is refused: a workflow acts only in its own namespace '{workflowNamespace}'";
        return null;
    }

    internal static string UnknownKind(string? kind) =>
        $"kind '{kind}' is not kept by the embedded store; resource templates act on {string.Join(", ", Resources.Kinds.Keys.Order(StringComparer.Ordinal))}";

    /// <summary>A kind as kubectl accepts it on the command line: ConfigMap, configmap, configmaps.</summary>
    private static string? KindNamed(string word) =>
        StoreKind.All.Keys.FirstOrDefault(k => string.Equals(k, word, StringComparison.OrdinalIgnoreCase) || string.Equals(k + "s", word, StringComparison.OrdinalIgnoreCase)) ?? word;

    /// <summary>Performs the action; returns the object as it now is (null after delete) or why the node fails.</summary>
    private async Task<(JsonElement? Object, string? Failure)> ActAsync(ResourceTemplate r, TargetObject t, Workflow wf, PodRequest pod, CancellationToken ct)
    {
        var source = $"{pod.NodeName} resource.manifest";
        var action = r.Action ?? "";
        if (action == "delete")
        {
            await t.Ops.Delete(store, t.Namespace, t.Name!, ct).ConfigureAwait(false); // kubectl delete --ignore-not-found
            return (null, null);
        }
        if (action == "create")
        {
            // The node runs again after a restart: what its first run created (marked with the node) is taken, rather than
            // failing on "already exists" or making a second object from a generateName.
            var mark = $"{wf.Metadata.Uid}/{pod.NodeId}";
            if (await CreatedEarlierAsync(t, mark, ct).ConfigureAwait(false) is { } earlier) return (ToJson(earlier), null);
            var manifest = (JsonObject)t.Manifest.DeepClone();
            var meta = manifest["metadata"] as JsonObject ?? (JsonObject)(manifest["metadata"] = new JsonObject());
            (meta["annotations"] as JsonObject ?? (JsonObject)(meta["annotations"] = new JsonObject()))[CreatedByAnnotation] = mark;
            // The API server names a generateName object; the store does so only for Workflows (through the submitter).
            if (t.Name is null && t.Kind != "Workflow" && meta["generateName"]?.GetValue<string>() is { } prefix)
                meta["name"] = prefix + RandomSuffix();
            var created = Read(manifest, t.Namespace, source) switch
            {
                Workflow w => await submitter.SubmitAsync(w, null, source, ct).ConfigureAwait(false),
                var other => await store.CreateAsync(other, ct).ConfigureAwait(false),
            };
            return (ToJson(created), null);
        }
        if (!Actions.Contains(action)) return (null, $"resource.action '{action}' is not one of {string.Join(", ", Actions)}");

        // The rest read the current object and write a new version of it; a concurrent writer means read again.
        for (var attempt = 0; ; attempt++)
        {
            var existing = await t.Ops.Get(store, t.Namespace, t.Name!, ct).ConfigureAwait(false);
            if (existing is null)
            {
                if (action != "apply") return (null, $"{t.Shown} not found");
                var applied = Read((JsonObject)t.Manifest, t.Namespace, source) switch
                {
                    Workflow w => await submitter.SubmitAsync(w, null, source, ct).ConfigureAwait(false),
                    var other => await store.CreateAsync(other, ct).ConfigureAwait(false),
                };
                return (ToJson(applied), null);
            }
            if (action == "get") return (ToJson(existing), null);

            var current = JsonSerializer.SerializeToNode(existing, existing.GetType(), Json.Options)!.AsObject();
            JsonObject next;
            switch (action)
            {
                case "replace":
                    // The whole object is the manifest's; what the store assigned stays.
                    next = t.Manifest.DeepClone().AsObject();
                    var meta = next["metadata"] as JsonObject ?? (JsonObject)(next["metadata"] = new JsonObject());
                    foreach (var field in new[] { "uid", "resourceVersion", "creationTimestamp", "generation" })
                        meta[field] = current["metadata"]?[field]?.DeepClone();
                    break;
                case "patch" when t.Manifest is JsonArray ops:
                    next = ResourcePatch.Apply(current, ops) as JsonObject ?? throw new FormatException("a JSON patch must leave an object");
                    break;
                default: // apply, patch with merge or strategic
                    next = current;
                    ResourcePatch.Merge(next, t.Manifest.AsObject());
                    break;
            }
            try
            {
                var updated = await t.Ops.Update(store, Read(next, t.Namespace, source), ct).ConfigureAwait(false);
                return (ToJson(updated), null);
            }
            catch (ConflictException) when (attempt < 5) { }
        }
    }

    /// <summary>Kubernetes' five-character generateName suffix (consonants and digits that spell no words).</summary>
    private static string RandomSuffix() => new(Enumerable.Range(0, 5).Select(_ => "bcdfghjklmnpqrstvwxz2456789"[Random.Shared.Next(27)]).ToArray());

    /// <summary>The object a create of this node made before, by name or (a generateName) by the node's mark.</summary>
    private async Task<Resource?> CreatedEarlierAsync(TargetObject t, string mark, CancellationToken ct)
    {
        static bool Marked(Resource? r, string mark) => r?.Metadata.Annotations?.GetValueOrDefault(CreatedByAnnotation) == mark;
        if (t.Name is not null)
            return await t.Ops.Get(store, t.Namespace, t.Name, ct).ConfigureAwait(false) is { } named && Marked(named, mark) ? named : null;
        return (await t.Ops.List(store, t.Namespace, ct).ConfigureAwait(false)).FirstOrDefault(r => Marked(r, mark));
    }

    /// <summary>Checks a would-be object as any applied manifest is checked; the reasons name the fields.</summary>
    private Resource Read(JsonObject manifest, string ns, string source)
    {
        var copy = manifest.DeepClone().AsObject();
        if (ns.Length > 0) (copy["metadata"] as JsonObject ?? (JsonObject)(copy["metadata"] = new JsonObject()))["namespace"] = ns;
        return manifests.Read(copy.ToJsonString(), source).Single();
    }

    /// <summary>Waits until the failure condition matches (any requirement) or the success condition holds (all of them).</summary>
    private async Task<(JsonElement? Object, string? Failure)> AwaitConditionsAsync(ResourceTemplate r, TargetObject t, CancellationToken ct)
    {
        var success = r.SuccessCondition is { Length: > 0 } s ? ResourceCondition.Parse(s) : null;
        var failure = r.FailureCondition is { Length: > 0 } f ? ResourceCondition.Parse(f) : null;
        var changed = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
        // Watch before the first read, so a change between the read and the wait is not missed.
        using var watch = store.Watch(t.Kind, c =>
        {
            if (c.Namespace == t.Namespace && c.Name == t.Name) changed.Writer.TryWrite(true);
        });
        while (true)
        {
            var current = await t.Ops.Get(store, t.Namespace, t.Name!, ct).ConfigureAwait(false);
            if (current is null) return (null, $"{t.Shown} was deleted while its conditions were being checked");
            var json = ToJson(current);
            if (failure?.FirstMatching(json) is { } matched) return (json, $"failure condition '{matched}' evaluated true");
            if (success is null || success.All(json)) return (json, null);
            await changed.Reader.ReadAsync(ct).ConfigureAwait(false);
        }
    }

    private static JsonElement ToJson(Resource r) => JsonSerializer.SerializeToElement(r, r.GetType(), Json.Options);
}
