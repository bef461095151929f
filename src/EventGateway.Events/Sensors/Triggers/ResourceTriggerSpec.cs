using System.Text.Json.Nodes;
using EventGateway.Model;
using EventGateway.Model.Manifests;

namespace EventGateway.Events.Sensors.Triggers;

/// <summary>
/// Argo's <c>ArtifactLocation</c> as the source of a k8s or argoWorkflow trigger. Every field Argo has is read, so
/// the ones this service cannot fetch from (s3, url, git) are refused by name instead of being unknown.
/// </summary>
internal sealed class TriggerSourceSpec
{
    public JsonObject? Resource { get; set; }
    public string? Inline { get; set; }
    public FileSourceSpec? File { get; set; }
    public ConfigMapSourceSpec? Configmap { get; set; }
    public JsonObject? S3 { get; set; }
    public JsonObject? Url { get; set; }
    public JsonObject? Git { get; set; }

    private static readonly Dictionary<string, string> Refused = new(StringComparer.Ordinal)
    {
        ["s3"] = "fetching the resource from an S3 bucket at fire time",
        ["url"] = "fetching the resource from a URL at fire time",
        ["git"] = "cloning a git repository at fire time",
    };

    /// <summary>Checks that exactly one supported source is set; returns the object when it is known at load (resource or inline).</summary>
    public JsonObject? Validate(string at, Action<string, string> fail)
    {
        var set = new List<string>();
        if (Resource is not null) set.Add("resource");
        if (Inline is not null) set.Add("inline");
        if (File is not null) set.Add("file");
        if (Configmap is not null) set.Add("configmap");
        foreach (var (name, value) in new[] { ("s3", S3), ("url", Url), ("git", Git) })
            if (value is not null)
                fail($"{at}.{name}", $"source '{name}' ({Refused[name]}) is not supported here; use one of {string.Join(", ", TriggerSource.Supported)}");
        if (set.Count == 0 && S3 is null && Url is null && Git is null)
            fail(at, $"missing: the resource, as one of {string.Join(", ", TriggerSource.Supported)}");
        if (set.Count > 1) fail(at, $"one source only, found {string.Join(" and ", set)}");
        if (File is { Path: null or "" }) fail($"{at}.file.path", "missing: the file holding the resource");
        if (Configmap is { } cm)
        {
            if (string.IsNullOrEmpty(cm.Name)) fail($"{at}.configmap.name", "missing: the ConfigMap holding the resource");
            if (string.IsNullOrEmpty(cm.Key)) fail($"{at}.configmap.key", "missing: the ConfigMap's key holding the resource");
        }
        if (Resource is not null) return Resource;
        if (Inline is null) return null;
        try
        {
            var docs = YamlToJson.Convert(Inline);
            if (docs.Count == 1 && JsonNode.Parse(docs[0].Json) is JsonObject o) return o;
            fail($"{at}.inline", $"must hold exactly one object, found {(docs.Count == 1 ? "something else" : $"{docs.Count} documents")}");
        }
        catch (YamlToJson.SyntaxError e)
        {
            fail($"{at}.inline", $"not valid YAML: {e.Message.ReplaceLineEndings(" ")}");
        }
        return null;
    }
}

internal sealed class FileSourceSpec
{
    public string? Path { get; set; }
}

internal sealed class ConfigMapSourceSpec
{
    public string? Name { get; set; }
    public string? Key { get; set; }
    public bool? Optional { get; set; }
}

/// <summary>Argo's <c>StandardK8STrigger</c>, read from <c>template.k8s</c>: an operation on one object of the embedded store.</summary>
internal sealed class K8sTriggerSpec
{
    public static readonly string[] Operations = ["create", "update", "patch", "delete"];

    public const string MergePatch = "application/merge-patch+json";
    public const string StrategicMergePatch = "application/strategic-merge-patch+json";
    public const string JsonPatch = "application/json-patch+json";
    public const string ApplyPatch = "application/apply-patch+yaml";

    /// <summary>
    /// What a k8s trigger may act on: the store's kinds that are data, not credentials (Secret) or the event
    /// configuration itself (EventSource, Sensor), and none that is cluster-scoped (a Sensor acts in its namespace).
    /// </summary>
    public static readonly string[] Kinds = ["ConfigMap", "CronWorkflow", "Workflow", "WorkflowTemplate"];

    public TriggerSourceSpec? Source { get; set; }
    public string? Operation { get; set; }
    public List<TriggerParameter>? Parameters { get; set; }
    public string? PatchStrategy { get; set; }
    public bool? LiveObject { get; set; }

    public string EffectiveOperation => string.IsNullOrEmpty(Operation) ? "create" : Operation;

    /// <summary>merge unless told otherwise, as Argo.</summary>
    public string EffectivePatchStrategy => string.IsNullOrEmpty(PatchStrategy) ? MergePatch : PatchStrategy;

    /// <param name="cluster">Kubernetes mode: any kind the cluster serves (discovery decides when the trigger fires).</param>
    public void Validate(string at, IReadOnlyCollection<string>? dependencies, Action<string, string> fail, bool cluster = false)
    {
        var op = EffectiveOperation;
        if (!Operations.Contains(op)) fail($"{at}.operation", $"'{op}' is not one of {string.Join(", ", Operations)}");
        TriggerSpec.Parameters(Parameters, $"{at}.parameters", dependencies, destRequired: true, fail);
        if (Source is null) { fail($"{at}.source", "missing: the resource to act on (source.resource)"); return; }
        var resource = Source.Validate($"{at}.source", fail);

        if (PatchStrategy is { Length: > 0 } ps)
        {
            if (op != "patch") fail($"{at}.patchStrategy", $"applies only to operation patch, not {op}");
            else if (PatchProblem(ps, cluster ? null : KindOf(resource)) is { } why) fail($"{at}.patchStrategy", why);
        }
        if (LiveObject == true && op != "update") fail($"{at}.liveObject", $"applies only to operation update (as in Argo), not {op}");

        if (resource is null) return;
        var srcAt = Source.Resource is not null ? $"{at}.source.resource" : $"{at}.source.inline";
        if (KindProblem(KindOf(resource), cluster) is { } kindWhy) fail($"{srcAt}.kind", kindWhy);
        if (cluster && resource["apiVersion"] is not JsonValue) fail($"{srcAt}.apiVersion", "missing: the cluster finds the kind by apiVersion and kind");
        // Parameters may still name the object; only a source that cannot get a name is refused here.
        var named = resource["metadata"]?["name"] is JsonValue || Parameters?.Any(p => p?.Dest == "metadata.name") == true;
        if (op != "create" && !named)
            fail($"{srcAt}.metadata.name", $"missing: {op} acts on an existing object, named by metadata.name (generateName names only new objects)");
    }

    public static string? KindOf(JsonObject? resource) => resource?["kind"] is JsonValue v && v.TryGetValue<string>(out var k) ? k : null;

    /// <summary>Why a k8s trigger cannot act on <paramref name="kind"/>, or null when it can.</summary>
    /// <param name="cluster">Kubernetes mode: every kind but the refused ones below; whether the cluster serves it is known at firing.</param>
    public static string? KindProblem(string? kind, bool cluster = false) => kind switch
    {
        null or "" => "missing: the kind of the object",
        _ when Kinds.Contains(kind) => null,
        "Secret" => "Secrets are not changed by triggers here: they hold credentials and API tokens; apply them with `egw apply`",
        "EventSource" or "Sensor" => $"a {kind} is not changed by triggers here; apply it with `egw apply`",
        "ClusterWorkflowTemplate" => "ClusterWorkflowTemplate is cluster-scoped; a Sensor acts only on objects of its own namespace",
        _ when cluster => null,
        _ => $"kind '{kind}' is not supported here: a k8s trigger acts on objects of the embedded store ({string.Join(", ", Kinds)}), and there is no Kubernetes cluster to create a {kind} in",
    };

    /// <summary>Why a patch type cannot be used on <paramref name="kind"/> (null: not known yet), or null when it can.</summary>
    public static string? PatchProblem(string strategy, string? kind) => strategy switch
    {
        MergePatch => null,
        StrategicMergePatch when kind is null or "ConfigMap" => null,
        StrategicMergePatch => $"strategic merge patch is not supported for custom resources such as {kind} (the Kubernetes API server refuses it too); use {MergePatch}",
        JsonPatch => $"a JSON patch is a list of operations, but a k8s trigger's source is an object (Argo sends the object, which the API server refuses); use {MergePatch}",
        ApplyPatch => $"server-side apply is not supported here; use {MergePatch}",
        _ => $"'{strategy}' is not a patch type; expected {MergePatch} (default) or {StrategicMergePatch}",
    };
}

/// <summary>Argo's <c>ArgoWorkflowTrigger</c>, read from <c>template.argoWorkflow</c>.</summary>
internal sealed class ArgoWorkflowTriggerSpec
{
    public static readonly string[] Operations = ["submit", "submit-from", "resubmit", "retry", "resume", "suspend", "terminate", "stop"];

    public TriggerSourceSpec? Source { get; set; }
    public string? Operation { get; set; }
    public List<TriggerParameter>? Parameters { get; set; }

    /// <summary>Extra <c>argo</c> command-line arguments; the ones this service understands are in <see cref="ArgoCliArgs"/>.</summary>
    public List<string>? Args { get; set; }

    public string EffectiveOperation => string.IsNullOrEmpty(Operation) ? "submit" : Operation;

    public void Validate(string at, IReadOnlyCollection<string>? dependencies, Action<string, string> fail)
    {
        var op = EffectiveOperation;
        if (!Operations.Contains(op)) fail($"{at}.operation", $"'{op}' is not one of {string.Join(", ", Operations)}");
        TriggerSpec.Parameters(Parameters, $"{at}.parameters", dependencies, destRequired: true, fail);
        if (Operations.Contains(op)) ArgoCliArgs.Parse(Args, op, $"{at}.args", fail);
        if (Source is null)
        {
            // Operations on an existing workflow may name it through parameters alone; creating ones need a source.
            if (op is "submit" or "submit-from") fail($"{at}.source", "missing: the resource to create (source.resource)");
            return;
        }
        var resource = Source.Validate($"{at}.source", fail);
        var kind = K8sTriggerSpec.KindOf(resource);
        if (resource is null || kind is null) return;
        var srcAt = Source.Resource is not null ? $"{at}.source.resource" : $"{at}.source.inline";
        if (op == "submit" && kind != "Workflow")
            fail($"{srcAt}.kind", $"submit creates a Workflow, not a {kind}; use operation submit-from to run a WorkflowTemplate or CronWorkflow");
        if (op == "submit-from" && kind is not ("WorkflowTemplate" or "CronWorkflow" or "ClusterWorkflowTemplate"))
            fail($"{srcAt}.kind", $"submit-from runs a WorkflowTemplate, ClusterWorkflowTemplate or CronWorkflow, not a {kind}");
    }
}
