using System.Text.Json;
using System.Text.Json.Nodes;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Workflows.Agent;
using EventGateway.Workflows.Retention;
using EventGateway.Workflows.Store;
using EventGateway.Workflows.Submission;

namespace EventGateway.Events.Sensors.Triggers;

/// <summary>
/// <c>k8s</c> trigger: one operation on one object of the embedded store (a Workflow, WorkflowTemplate, CronWorkflow
/// or ConfigMap in the Sensor's namespace), with Argo's semantics:
/// <list type="bullet">
/// <item><c>create</c> creates it (a Workflow through the submitter); a generateName becomes a name derived from the
/// firing, so a replayed firing finds what it created.</item>
/// <item><c>update</c> writes the source over the stored object: fields it sets replace the stored ones, mappings
/// merge, lists are replaced, nothing is removed (Argo merges onto the live object before its PUT). With
/// <c>liveObject</c> the parameters apply to the stored object itself.</item>
/// <item><c>patch</c> applies the source as a JSON merge patch (a null removes a field); strategic merge, for a
/// ConfigMap, is the same.</item>
/// <item>update and patch create the object when it does not exist; <c>delete</c> of a missing object does nothing.</item>
/// </list>
/// Every written object is checked as an applied manifest is, so an update cannot store what a user could not apply.
/// </summary>
public sealed class K8sTrigger(WorkflowSubmitter submitter, ManifestParser manifests, WorkflowDeleter deleter) : ITrigger
{
    public string Kind => "k8s";

    public async Task<TriggerResult> FireAsync(TriggerFiring firing, TriggerContext context, CancellationToken ct)
    {
        var k8s = firing.Trigger.Template?.K8s ?? throw new TriggerException("template.k8s: missing", retryable: false);
        var problems = new List<string>();
        var spec = TriggerSpec.Read<K8sTriggerSpec>(k8s, "template.k8s", (p, r) => problems.Add($"{p}: {r}"));
        spec?.Validate("template.k8s", null, (p, r) => problems.Add($"{p}: {r}"));
        if (spec is null || problems.Count > 0) throw TriggerSpec.Refusal(problems);

        var operation = spec.EffectiveOperation;
        var resource = spec.LiveObject == true
            ? await LiveObjectAsync(k8s, firing, context, ct).ConfigureAwait(false)
            : await TriggerSource.LoadAsync(k8s, firing, context, ct).ConfigureAwait(false);
        var kind = K8sTriggerSpec.KindOf(resource);
        if (K8sTriggerSpec.KindProblem(kind) is { } why) throw new TriggerException($"source kind: {why}", retryable: false);
        var ns = Namespace(resource, firing);
        var store = StoreKind.All[kind!];
        var name = resource["metadata"]?["name"]?.GetValue<string>();

        if (operation == "create") return await CreateAsync(resource, kind!, firing, context, ct).ConfigureAwait(false);
        if (string.IsNullOrEmpty(name))
            throw new TriggerException($"source.metadata.name: missing: {operation} acts on an existing {kind}, named by metadata.name", retryable: false);
        if (operation == "delete")
        {
            var deleted = kind == nameof(Workflow)
                ? await deleter.DeleteAsync(ns, name, ct).ConfigureAwait(false) // with its pods and local artifacts, as `egw delete`
                : await store.Delete(context.Store, ns, name, ct).ConfigureAwait(false);
            return new TriggerResult(deleted ? $"{kind} {ns}/{name} deleted" : $"{kind} {ns}/{name} not found, nothing to delete");
        }

        if (operation == "patch" && K8sTriggerSpec.PatchProblem(spec.EffectivePatchStrategy, kind) is { } patchWhy)
            throw new TriggerException($"template.k8s.patchStrategy: {patchWhy}", retryable: false);
        // The rest read the stored object and write a new version of it; a concurrent writer means read again.
        for (var attempt = 0; ; attempt++)
        {
            var existing = await store.Get(context.Store, ns, name, ct).ConfigureAwait(false);
            if (existing is null) return await CreateAsync(resource, kind!, firing, context, ct).ConfigureAwait(false);
            var next = JsonSerializer.SerializeToNode(existing, existing.GetType(), Json.Options)!.AsObject();
            if (operation == "patch") ResourcePatch.Merge(next, resource);
            else Override(next, resource);
            try
            {
                var updated = await store.Update(context.Store, Read(next, ns, firing), ct).ConfigureAwait(false);
                var result = new TriggerResult($"{kind} {ns}/{name} {(operation == "patch" ? "patched" : "updated")} (resourceVersion {updated.Metadata.ResourceVersion})", kind, name);
                await K8sPolicy.WaitAsync(firing, result, context, ct).ConfigureAwait(false);
                return result;
            }
            catch (ConflictException) when (attempt < 5) { }
            catch (ConflictException e) { throw new TriggerException($"{operation} {kind} {ns}/{name}: {e.Message}", retryable: true, e); }
        }
    }

    private async Task<TriggerResult> CreateAsync(JsonObject resource, string kind, TriggerFiring firing, TriggerContext context, CancellationToken ct)
    {
        TriggerResult result;
        if (kind == nameof(Workflow)) result = await WorkflowCreation.CreateAsync(WorkflowCreation.Read(resource), firing, submitter, context, ct).ConfigureAwait(false);
        else
        {
            // Kinds other than Workflow need a name to be checked: the one Mark would derive from generateName.
            var meta = resource["metadata"] as JsonObject ?? (JsonObject)(resource["metadata"] = new JsonObject());
            if (meta["name"] is null)
            {
                var prefix = meta["generateName"]?.GetValue<string>() ?? $"{firing.Sensor.Name}-{firing.TriggerName}-";
                meta["name"] = DedupKeys.WorkflowName(prefix, firing.Namespace, firing.Sensor.Name, firing.TriggerName, firing.DedupKey);
                meta.Remove("generateName");
            }
            var obj = Read(resource, Namespace(resource, firing), firing);
            WorkflowCreation.Mark(obj, firing);
            var store = StoreKind.All[kind];
            try
            {
                var created = await store.Create(context.Store, obj, ct).ConfigureAwait(false);
                result = new TriggerResult($"{kind} {created.Metadata.Name} created", kind, created.Metadata.Name);
            }
            catch (ConflictException)
            {
                var existing = await store.Get(context.Store, obj.NamespaceOrDefault, obj.Metadata.Name!, ct).ConfigureAwait(false);
                if (!WorkflowCreation.MadeBy(existing, firing))
                    throw new TriggerException($"{kind} '{obj.Metadata.Name}' already exists in namespace '{obj.NamespaceOrDefault}' (use operation update or patch to change it)", retryable: false);
                result = new TriggerResult($"{kind} {existing!.Metadata.Name} already existed (created by an earlier pass over this firing)", kind, existing.Metadata.Name);
            }
        }
        await K8sPolicy.WaitAsync(firing, result, context, ct).ConfigureAwait(false);
        return result;
    }

    /// <summary><c>liveObject</c>: the stored object the source names, with the trigger's parameters applied to it.</summary>
    private static async Task<JsonObject> LiveObjectAsync(JsonObject k8s, TriggerFiring firing, TriggerContext context, CancellationToken ct)
    {
        var withoutParameters = (JsonObject)k8s.DeepClone();
        withoutParameters.Remove("parameters");
        var named = await TriggerSource.LoadAsync(withoutParameters, firing, context, ct).ConfigureAwait(false);
        var kind = K8sTriggerSpec.KindOf(named);
        if (K8sTriggerSpec.KindProblem(kind) is { } why) throw new TriggerException($"source kind: {why}", retryable: false);
        var name = named["metadata"]?["name"]?.GetValue<string>()
            ?? throw new TriggerException("source.metadata.name: missing: liveObject needs the name of the stored object", retryable: false);
        var ns = Namespace(named, firing);
        var live = await StoreKind.All[kind!].Get(context.Store, ns, name, ct).ConfigureAwait(false)
            ?? throw new TriggerException($"liveObject: {kind} {ns}/{name} not found", retryable: false);
        var obj = JsonSerializer.SerializeToNode(live, live.GetType(), Json.Options)!.AsObject();
        return TriggerSpec.ApplyParameters(obj, firing.Trigger.Template!.K8s!["parameters"]?.Deserialize<List<TriggerParameter>>(Json.Lenient), firing, "template.k8s");
    }

    /// <summary>Namespaces are walls: a Sensor acts on objects of its own namespace, which is also the default.</summary>
    private static string Namespace(JsonObject resource, TriggerFiring firing)
    {
        var ns = resource["metadata"]?["namespace"]?.GetValue<string>();
        if (!string.IsNullOrEmpty(ns) && ns != firing.Namespace)
            throw new TriggerException($"source.metadata.namespace '{ns}' is refused: a Sensor acts only in its own namespace '{firing.Namespace}'", retryable: false);
        return firing.Namespace;
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

    /// <summary>Checks a would-be object as any applied manifest is checked; the reasons name the fields.</summary>
    private Resource Read(JsonObject obj, string ns, TriggerFiring firing)
    {
        var copy = obj.DeepClone().AsObject();
        (copy["metadata"] as JsonObject ?? (JsonObject)(copy["metadata"] = new JsonObject()))["namespace"] = ns;
        try
        {
            return manifests.Read(copy.ToJsonString(), $"sensor {firing.Namespace}/{firing.Sensor.Name} trigger {firing.TriggerName}").Single();
        }
        catch (ManifestException e)
        {
            throw new TriggerException($"the resource is refused: {e.Message}", retryable: false, e);
        }
    }
}
