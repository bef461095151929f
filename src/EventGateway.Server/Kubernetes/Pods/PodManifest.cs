using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Workflows.Controller;
using EventGateway.Workflows.Execution;

namespace EventGateway.Server.Kubernetes.Pods;

/// <summary>
/// The Pod of one step, as JSON the API server takes: the template's container as "main" (image, command/args, env
/// with its valueFrom references left for the kubelet to resolve, resources, volumeMounts, securityContext, probes),
/// the pod-level fields of the template over the workflow's (serviceAccountName, nodeSelector, tolerations, affinity,
/// securityContext, volumes, imagePullSecrets, priorityClassName, schedulerName), metadata from spec.podMetadata and
/// the template's metadata, then podSpecPatch. Sidecars are native sidecars (init containers with restartPolicy
/// Always, Kubernetes 1.29+), so the pod completes when main does, as Argo's executor makes it by killing them.
/// </summary>
public static class PodManifest
{
    public const string WorkflowLabel = "workflows.argoproj.io/workflow";
    /// <summary>The step (a hash of the data directory and the step's key): what a restarted service adopts a pod by.</summary>
    public const string StepLabel = "eventgateway.io/step";
    /// <summary>The data directory's mark, so podGC of one service never deletes another's pods.</summary>
    public const string InstanceLabel = "eventgateway.io/instance";
    public const string NodeIdAnnotation = "workflows.argoproj.io/node-id";

    /// <summary>The emptyDir the main container's wrapper and the upload container share.</summary>
    public const string RunDir = "/var/run/egw";
    public const string WaitContainer = "wait";

    public sealed record Outputs(IReadOnlyList<string> Paths, string UploadUrl, string UploadImage);

    /// <summary>The step's input artifacts as one tar at <paramref name="Url"/>, fetched by the init container (<see cref="PodOutputs.DownloadScript"/>).</summary>
    public sealed record Inputs(string Url, string Image);

    public const string InputsDir = "/var/run/egw-inputs";
    public const string InitContainer = "init";

    /// <summary>
    /// The pod, or why the step cannot run as one. <paramref name="outputs"/> (null: the step has none) adds the wrapper
    /// around main's command and the upload container (<see cref="PodOutputs"/>).
    /// </summary>
    public static (JsonObject? Pod, string? Error) Build(StepSpec spec, string name, string step, string instance, Outputs? outputs, Inputs? inputs = null)
    {
        var t = spec.Template ?? new Template();
        var wf = spec.WorkflowSpec ?? new WorkflowSpec();
        Container c = (Container?)t.Script ?? t.Container ?? new Container { Image = spec.Image, Command = [.. spec.Argv] };
        var loaded = spec.Files.Where(f => f.HostSource is not null).ToList();
        if (loaded.Count > 0 && inputs is null)
            return (null, $"input artifact at {loaded[0].SandboxPath}: no URL to fetch the step's inputs from");
        if ((t.Inputs?.Artifacts ?? []).FirstOrDefault(a => a.Git is not null) is { } git)
            return (null, $"input artifact '{git.Name}': --executor kubernetes does not clone git artifacts into a pod yet");

        var main = Node(c);
        main.Remove("source"); // a script's source is staged by the wrapper
        main["name"] = "main";
        if (spec.Container is { } command) // script: the interpreter and the staged source, as StepSpecBuilder made them
        {
            if (t.Script is not null) { main["command"] = Strings(command.Command); main["args"] = Strings(command.Args); }
        }
        var volumes = Array(wf.Volumes).Concat(Array(t.Volumes)).ToList();
        var mounts = main["volumeMounts"] as JsonArray ?? [];
        var env = main["env"] as JsonArray ?? [];

        var contents = spec.Files.Where(f => f.Content is not null).ToList();
        if (contents.Count > 0 || outputs is not null)
        {
            // The wrapper runs main's command: main needs one (the image's entrypoint is not known here, as the kubelet knows it).
            var argv = ArgvOf(main);
            if (argv.Count == 0)
                return (null, $"container '{t.Name}': it has outputs or staged files and no command; --executor kubernetes wraps the command to collect them and cannot know image '{c.Image}''s entrypoint: give the container a command");
            main["command"] = new JsonArray("/bin/sh", "-c", PodOutputs.WrapperScript.Replace("$(", "$$(", StringComparison.Ordinal), "egw-wrapper");
            main["args"] = Strings(argv);
            for (var i = 0; i < contents.Count; i++)
            {
                env.Add(Env($"EGW_FILE_{i}", contents[i].SandboxPath));
                env.Add(Env($"EGW_FILE_{i}_CONTENT", contents[i].Content!));
                if (contents[i].Mode is { } mode) env.Add(Env($"EGW_FILE_{i}_MODE", Convert.ToString(mode, 8)));
            }
            env.Add(Env("EGW_OUTPUTS", string.Join('\n', (outputs?.Paths ?? []).Select(p => Absolute(p, c.WorkingDir).TrimStart('/')))));
            volumes.Add(new JsonObject { ["name"] = "egw-run", ["emptyDir"] = new JsonObject() });
            mounts.Add(new JsonObject { ["name"] = "egw-run", ["mountPath"] = RunDir });
            if (contents.Any(f => f.SandboxPath.StartsWith("/argo/staging/", StringComparison.Ordinal)))
            {
                volumes.Add(new JsonObject { ["name"] = "egw-staging", ["emptyDir"] = new JsonObject() });
                mounts.Add(new JsonObject { ["name"] = "egw-staging", ["mountPath"] = "/argo/staging" });
            }
        }
        JsonObject? init = null;
        if (loaded.Count > 0)
        {
            volumes.Add(new JsonObject { ["name"] = "egw-inputs", ["emptyDir"] = new JsonObject() });
            for (var i = 0; i < loaded.Count; i++)
                mounts.Add(new JsonObject { ["name"] = "egw-inputs", ["mountPath"] = loaded[i].SandboxPath, ["subPath"] = $"in{i}" });
            init = new JsonObject
            {
                ["name"] = InitContainer,
                ["image"] = inputs!.Image,
                ["command"] = new JsonArray("/bin/sh", "-c", PodOutputs.DownloadScript.Replace("$(", "$$(", StringComparison.Ordinal)),
                ["env"] = new JsonArray(Env("EGW_INPUTS_URL", inputs.Url)),
                ["volumeMounts"] = new JsonArray(new JsonObject { ["name"] = "egw-inputs", ["mountPath"] = InputsDir }),
            };
        }
        if (env.Count > 0) main["env"] = env;
        if (mounts.Count > 0) main["volumeMounts"] = mounts;

        var containers = new JsonArray(main);
        if (outputs is not null)
            containers.Add(new JsonObject
            {
                ["name"] = WaitContainer,
                ["image"] = outputs.UploadImage,
                ["command"] = new JsonArray("/bin/sh", "-c", PodOutputs.UploadScript.Replace("$(", "$$(", StringComparison.Ordinal)),
                ["env"] = new JsonArray(Env("EGW_OUTPUTS_URL", outputs.UploadUrl)),
                ["volumeMounts"] = new JsonArray(new JsonObject { ["name"] = "egw-run", ["mountPath"] = RunDir }),
                ["terminationMessagePolicy"] = "File",
            });
        var initContainers = Array(t.InitContainers).ToList();
        if (init is not null) initContainers.Insert(0, init); // inputs first, as Argo's own init container
        foreach (var s in t.Sidecars ?? [])
        {
            var sidecar = Node(s);
            sidecar.Remove("mirrorVolumeMounts");
            sidecar["restartPolicy"] = "Always";
            if (s.MirrorVolumeMounts == true && main["volumeMounts"] is JsonArray mirrored)
                sidecar["volumeMounts"] = new JsonArray([.. Array(sidecar["volumeMounts"]), .. mirrored.Where(m => m?["name"]?.GetValue<string>() is not ("egw-run" or "egw-staging" or "egw-inputs")).Select(m => m!.DeepClone())]);
            initContainers.Add(sidecar);
        }

        var podSpec = new JsonObject
        {
            ["restartPolicy"] = "Never",
            ["containers"] = containers,
        };
        if (initContainers.Count > 0) podSpec["initContainers"] = new JsonArray([.. initContainers]);
        if (volumes.Count > 0) podSpec["volumes"] = new JsonArray([.. volumes]);
        Set(podSpec, "serviceAccountName", t.ServiceAccountName ?? wf.ServiceAccountName);
        Set(podSpec, "automountServiceAccountToken", t.AutomountServiceAccountToken ?? wf.AutomountServiceAccountToken);
        Set(podSpec, "priorityClassName", t.PriorityClassName ?? wf.PodPriorityClassName);
        Set(podSpec, "schedulerName", t.SchedulerName ?? wf.SchedulerName);
        Set(podSpec, "nodeSelector", t.NodeSelector ?? wf.NodeSelector);
        Set(podSpec, "tolerations", t.Tolerations ?? wf.Tolerations);
        Set(podSpec, "affinity", t.Affinity ?? wf.Affinity);
        Set(podSpec, "securityContext", t.SecurityContext ?? wf.SecurityContext);
        Set(podSpec, "imagePullSecrets", wf.ImagePullSecrets);
        Set(podSpec, "hostAliases", t.HostAliases ?? wf.HostAliases);
        Set(podSpec, "dnsConfig", wf.DnsConfig);
        Set(podSpec, "dnsPolicy", wf.DnsPolicy);
        Set(podSpec, "hostNetwork", wf.HostNetwork);

        var labels = new JsonObject();
        var annotations = new JsonObject();
        foreach (var source in new[] { wf.PodMetadata, t.Metadata })
        {
            foreach (var (k, v) in source?["labels"] as JsonObject ?? []) labels[k] = v?.DeepClone();
            foreach (var (k, v) in source?["annotations"] as JsonObject ?? []) annotations[k] = v?.DeepClone();
        }
        // egw's own last: a template cannot take a pod away from its step.
        labels[WorkflowLabel] = spec.Key.Workflow;
        labels[StepLabel] = step;
        labels[InstanceLabel] = instance;
        annotations[NodeIdAnnotation] = spec.Key.NodeId;

        JsonNode pod = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = spec.Key.Namespace, ["labels"] = labels, ["annotations"] = annotations },
            ["spec"] = podSpec,
        };
        // As Argo: the workflow's patch first, then the template's on top of it.
        foreach (var patchText in new[] { wf.PodSpecPatch, t.PodSpecPatch })
        {
            if (patchText is not { Length: > 0 }) continue;
            JsonNode? patch;
            try { patch = JsonNode.Parse(YamlToJson.Convert(patchText).Single().Json); }
            catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or FormatException or YamlDotNet.Core.YamlException)
            {
                return (null, $"podSpecPatch: not a YAML or JSON object: {e.Message}");
            }
            if (patch is not JsonObject p) return (null, "podSpecPatch: not a YAML or JSON object");
            pod["spec"] = StrategicMerge((JsonObject)pod["spec"]!, p);
        }
        return ((JsonObject)pod, null);
    }

    /// <summary>A pod name of at most 63 characters (Argo's limit, a hostname label), the same for the same step.</summary>
    public static string NameOf(string workflow, string step) => $"{(workflow.Length > 52 ? workflow[..52].TrimEnd('-', '.') : workflow)}-{step[..10]}";

    /// <summary>The step label's value: the data directory and the step's key, hashed (keys do not fit a label value).</summary>
    public static string StepOf(string root, StepKey key) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{root}\n{key.Namespace}/{key.Workflow}/{key.NodeId}")))[..24];

    public static string Absolute(string path, string? workingDir) => path.StartsWith('/') ? path : $"{(workingDir ?? "/").TrimEnd('/')}/{path}";

    /// <summary>
    /// podSpecPatch as Kubernetes' strategic merge patch applies it to a pod spec (and Argo does): objects merge, lists of
    /// containers, initContainers and volumes merge by name, other lists and scalars replace, null deletes.
    /// </summary>
    internal static JsonObject StrategicMerge(JsonObject target, JsonObject patch)
    {
        var result = (JsonObject)target.DeepClone();
        foreach (var (k, v) in patch)
        {
            if (v is null) { result.Remove(k); continue; }
            if (v is JsonObject po && result[k] is JsonObject to) { result[k] = StrategicMerge(to, po); continue; }
            if (v is JsonArray pa && result[k] is JsonArray ta && k is "containers" or "initContainers" or "volumes" or "env" or "volumeMounts" or "ports")
            {
                var key = k == "volumeMounts" ? "mountPath" : k == "ports" ? "containerPort" : "name";
                var merged = ta.Select(e => e!.DeepClone()).ToList();
                foreach (var item in pa.OfType<JsonObject>())
                {
                    var at = merged.FindIndex(e => e?[key]?.ToJsonString() == item[key]?.ToJsonString());
                    if (at >= 0 && merged[at] is JsonObject existing) merged[at] = StrategicMerge(existing, item);
                    else merged.Add(item.DeepClone());
                }
                result[k] = new JsonArray([.. merged]);
                continue;
            }
            result[k] = v.DeepClone();
        }
        return result;
    }

    private static JsonObject Node(Container c) => (JsonObject)JsonNode.Parse(Json.Serialize<object>(c))!;

    private static List<string> ArgvOf(JsonObject container) =>
        [.. Array(container["command"]).Concat(Array(container["args"])).Select(n => n!.GetValue<string>())];

    private static IEnumerable<JsonNode> Array(JsonNode? node) => (node as JsonArray ?? []).Where(n => n is not null).Select(n => n!.DeepClone());

    private static JsonArray? Strings(IEnumerable<string>? items) => items is null ? null : new JsonArray([.. items.Select(i => (JsonNode)i)]);

    private static JsonObject Env(string name, string value) => new() { ["name"] = name, ["value"] = value };

    private static void Set(JsonObject o, string key, object? value)
    {
        switch (value)
        {
            case null: return;
            case JsonNode n: o[key] = n.DeepClone(); return;
            case string s: o[key] = s; return;
            case bool b: o[key] = b; return;
            default: o[key] = JsonValue.Create(value); return;
        }
    }
}
