using System.Text;
using EventGateway.Model;
using EventGateway.Workflows.Artifacts;
using EventGateway.Workflows.Execution;
using EventGateway.Workflows.Store;

namespace EventGateway.Workflows.Controller;

/// <summary>
/// Turns a rendered container or script template into what the executor runs: argv, environment
/// (resolving ConfigMap and Secret references from the store) and the files to stage.
/// </summary>
public sealed class StepSpecBuilder(IResourceStore store, ArtifactStorage storage, HttpArtifactLoader http, GitArtifactLoader git, Volumes.PodVolumes podVolumes, IStepExecutor executor)
{
    /// <summary>Argo stages a script's source here.</summary>
    public const string ScriptPath = "/argo/staging/script";

    public async Task<(StepSpec? Spec, string? Error)> BuildAsync(Workflow wf, PodRequest pod, TimeProvider time, CancellationToken ct)
    {
        var ns = wf.NamespaceOrDefault;
        Container c = (Container?)pod.Template.Script ?? pod.Template.Container!;
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var from in c.EnvFrom ?? [])
        {
            var error = await AddEnvFromAsync(ns, from, env, ct).ConfigureAwait(false);
            if (error is not null) return (null, error);
        }
        foreach (var e in c.Env ?? [])
        {
            if (e.ValueFrom is null) { env[e.Name] = ExpandRefs(e.Value ?? "", env); continue; }
            var (value, error) = await ResolveAsync(ns, e, ct).ConfigureAwait(false);
            if (error is not null) return (null, error);
            if (value is not null) env[e.Name] = value;
        }

        var files = new List<StagedFile>();
        List<string> argv;
        ImageCommand command;
        if (pod.Template.Script is { } script)
        {
            files.Add(new StagedFile(ScriptPath, null, script.Source ?? "", Mode: 0b111_101_101));
            command = new ImageCommand(script.Command is { Count: > 0 } cmd ? cmd : ["sh"], [.. script.Args ?? [], ScriptPath]);
        }
        else
        {
            command = new ImageCommand(c.Command is { Count: > 0 } ? c.Command : null, c.Args is { Count: > 0 } ? c.Args : null);
        }
        argv = [.. command.Command ?? [], .. command.Args ?? []];
        if (argv.Count == 0 && !executor.RunsImages)
            return (null, NoCommand(pod, c));
        argv = argv.Select(a => ExpandRefs(a, env)).ToList();
        command = new ImageCommand(command.Command?.Select(a => ExpandRefs(a, env)).ToList(), command.Args?.Select(a => ExpandRefs(a, env)).ToList());

        var volumes = new List<SharedVolume>();
        var podKey = new StepKey(ns, wf.Name, pod.NodeId);
        for (var index = 0; index < pod.InputArtifacts.Count; index++)
        {
            var (path, artifact) = pod.InputArtifacts[index];
            if (artifact.Raw is { } raw) files.Add(new StagedFile(path, null, raw.Data));
            else if (artifact.Http is not null)
            {
                try { files.Add(new StagedFile(path, await http.LoadAsync(wf, pod.NodeId, artifact, ct).ConfigureAwait(false), null, artifact.Mode)); }
                catch (ArtifactException e) { return (null, e.Message); }
            }
            else if (artifact.Git is not null)
            {
                try { volumes.Add(await git.LoadAsync(wf, podKey, index, artifact, ct).ConfigureAwait(false) with { MountPath = path }); }
                catch (ArtifactException e) { return (null, e.Message); }
            }
            else if (artifact.Local is { } local)
            {
                try { files.Add(new StagedFile(path, storage.LocalPath(wf, artifact, local), null)); }
                catch (ArtifactException e) { return (null, e.Message); }
            }
            else if (artifact.S3 is not null)
            {
                try { files.Add(new StagedFile(path, await storage.LoadAsync(wf, pod.NodeId, artifact, ct).ConfigureAwait(false), null)); }
                catch (ArtifactException e) { return (null, e.Message); }
            }
        }

        var (limits, limitError) = LimitsOf(c, pod.Template.PodResources ?? (wf.Status?.StoredWorkflowTemplateSpec ?? wf.Spec).PodResources);
        if (limitError is not null) return (null, $"container '{pod.Template.Name}': {limitError}");
        var (runAs, runAsError) = RunAsOf(c.SecurityContext, pod.Template.SecurityContext ?? wf.Spec.SecurityContext);
        if (runAsError is not null) return (null, $"container '{pod.Template.Name}': {runAsError}");

        // A containerSet's containers get the set's volumes from ContainerSetRun.
        var (shared, volumeError) = c is ContainerNode ? ([], null) : await podVolumes.ForAsync(wf, podKey, pod.Template, c, ct).ConfigureAwait(false);
        if (volumeError is not null) return (null, $"container '{pod.Template.Name}': {volumeError}");

        // A clone belongs to another uid (the clone step's): git refuses to work in it unless it is marked safe.
        if (volumes.Count > 0 && !env.ContainsKey("GIT_CONFIG_COUNT"))
            (env["GIT_CONFIG_COUNT"], env["GIT_CONFIG_KEY_0"], env["GIT_CONFIG_VALUE_0"]) = ("1", "safe.directory", "*");

        DateTimeOffset? deadline = pod.ActiveDeadline is { } d ? time.GetUtcNow() + d : null;
        if (c.ImagePullPolicy is { } policy && policy is not ("Always" or "IfNotPresent" or "Never"))
            return (null, $"container '{pod.Template.Name}': imagePullPolicy '{policy}' is not one of Always, IfNotPresent, Never");
        var pullSecrets = executor.RunsImages ? await PullSecretsAsync(wf, ct).ConfigureAwait(false) : [];
        var (cpu, cpuError) = CpuOf(c);
        if (cpuError is not null) return (null, $"container '{pod.Template.Name}': {cpuError}");
        var nonRoot = (c.SecurityContext?["runAsNonRoot"] ?? (pod.Template.SecurityContext ?? wf.Spec.SecurityContext)?["runAsNonRoot"])?.ToString() == "true";
        return (new StepSpec(podKey, c.Image ?? "", argv, c.WorkingDir, env, files, deadline)
        {
            Container = command, Limits = limits, RunAs = runAs, Volumes = [.. shared, .. volumes], OutputPaths = OutputPathsOf(pod.Template),
            PullPolicy = c.ImagePullPolicy, PullSecrets = pullSecrets, CpuMillis = cpu, RunAsNonRoot = nonRoot,
            Template = pod.Template, WorkflowSpec = wf.Status?.StoredWorkflowTemplateSpec ?? wf.Spec,
        }, null);
    }

    /// <summary>The paths of a template's output parameters and artifacts (what an executor must keep once the step has ended).</summary>
    public static IReadOnlyList<string> OutputPathsOf(Template t) =>
        t.Outputs is { } o
            ? [.. (o.Parameters ?? []).Select(p => p.ValueFrom?.Path).Concat((o.Artifacts ?? []).Select(a => a.Path)).OfType<string>().Where(p => p.Length > 0).Distinct(StringComparer.Ordinal)]
            : [];

    /// <summary>
    /// Why a container without command or args cannot run, and what to do: an image's entrypoint is in the image, which
    /// the local executor never pulls (README, "Steps are processes").
    /// </summary>
    internal static string NoCommand(PodRequest pod, Container c) =>
        $"step '{pod.NodeName}': container '{c.Name ?? "main"}' of image '{c.Image}' has no command, and the local executor cannot know an image's entrypoint " +
        "(it runs commands on the host, not images): give the container a `command` (its `args` are appended to it). " +
        "To run the image's own entrypoint, use the container executor (--executor container)";

    /// <summary>
    /// resources.limits.memory as the step's memory limit, within the pod's (podResources: the template's, else the
    /// workflow's), which bounds all of a pod's containers together; cpu has no rlimit equivalent (a rate needs
    /// cgroups) and is not enforced.
    /// </summary>
    private static (StepLimits? Limits, string? Error) LimitsOf(Container c, System.Text.Json.Nodes.JsonNode? podResources)
    {
        long? limit = null;
        foreach (var (field, memory) in new[] { ("resources.limits.memory", c.Resources?["limits"]?["memory"]), ("podResources.limits.memory", podResources?["limits"]?["memory"]) })
        {
            if (memory is null) continue;
            var (bytes, error) = StepLimits.ParseMemory(memory.ToString());
            if (error is not null) return (null, $"{field}: {error}");
            limit = limit is { } l ? Math.Min(l, bytes!.Value) : bytes;
        }
        return limit is null ? (null, null) : (StepLimits.None with { MemoryBytes = limit }, null);
    }

    /// <summary>resources.limits.cpu as Kubernetes writes it: "500m", "2", "0.5".</summary>
    private static (long? Millis, string? Error) CpuOf(Container c)
    {
        if (c.Resources?["limits"]?["cpu"] is not { } node) return (null, null);
        var text = node.ToString();
        var millis = text.EndsWith('m')
            ? (long.TryParse(text[..^1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var m) ? m : -1)
            : (decimal.TryParse(text, System.Globalization.NumberStyles.AllowDecimalPoint, System.Globalization.CultureInfo.InvariantCulture, out var cores) ? (long)(cores * 1000) : -1);
        return millis > 0 ? (millis, null) : (null, $"resources.limits.cpu: '{text}' is not a CPU quantity (e.g. 500m, 1, 0.5)");
    }

    /// <summary>securityContext.runAsUser/runAsGroup: the container's over the pod's (template, then workflow), as in Kubernetes.</summary>
    private static (RunAs? RunAs, string? Error) RunAsOf(System.Text.Json.Nodes.JsonNode? container, System.Text.Json.Nodes.JsonNode? pod)
    {
        long? Id(string field, out string? error)
        {
            error = null;
            var node = container?[field] ?? pod?[field];
            if (node is null) return null;
            if (long.TryParse(node.ToString(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id) && id <= uint.MaxValue - 1) return id;
            error = $"securityContext.{field}: '{node}' is not a user or group id (a number from 0)";
            return null;
        }
        var user = Id("runAsUser", out var userError);
        var group = Id("runAsGroup", out var groupError);
        if ((userError ?? groupError) is { } e) return (null, e);
        return user is null && group is null ? (null, null) : (new RunAs(user, group), null);
    }

    /// <summary>
    /// The docker config documents of spec.imagePullSecrets, in order. As the kubelet does, a Secret that is missing or
    /// holds no docker config is passed over (the pull then goes without it, and says why it failed if it does).
    /// </summary>
    private async Task<IReadOnlyList<string>> PullSecretsAsync(Workflow wf, CancellationToken ct)
    {
        if ((wf.Status?.StoredWorkflowTemplateSpec ?? wf.Spec).ImagePullSecrets is not System.Text.Json.Nodes.JsonArray refs) return [];
        var configs = new List<string>();
        foreach (var r in refs)
        {
            var name = (r as System.Text.Json.Nodes.JsonObject)?["name"]?.GetValue<string>();
            if (string.IsNullOrEmpty(name)) continue;
            var secret = await store.GetAsync<Secret>(wf.NamespaceOrDefault, name, ct).ConfigureAwait(false);
            if ((secret?.Value(".dockerconfigjson") ?? secret?.Value(".dockercfg")) is { } config) configs.Add(config);
        }
        return configs;
    }

    private async Task<string?> AddEnvFromAsync(string ns, EnvFromSource from, Dictionary<string, string> env, CancellationToken ct)
    {
        var prefix = from.Prefix ?? "";
        if (from.ConfigMapRef is { } cmRef)
        {
            var cm = await store.GetAsync<ConfigMap>(ns, cmRef.Name ?? "", ct).ConfigureAwait(false);
            if (cm is null) return cmRef.Optional == true ? null : $"envFrom: configmap \"{cmRef.Name}\" not found";
            foreach (var (k, v) in cm.Data ?? []) env[prefix + k] = v;
        }
        if (from.SecretRef is { } sRef)
        {
            var secret = await store.GetAsync<Secret>(ns, sRef.Name ?? "", ct).ConfigureAwait(false);
            if (secret is null) return sRef.Optional == true ? null : $"envFrom: secret \"{sRef.Name}\" not found";
            foreach (var k in (secret.Data?.Keys.AsEnumerable() ?? []).Union(secret.StringData?.Keys.AsEnumerable() ?? []))
                if (secret.Value(k) is { } v) env[prefix + k] = v;
        }
        return null;
    }

    private async Task<(string? Value, string? Error)> ResolveAsync(string ns, EnvVar e, CancellationToken ct)
    {
        if (e.ValueFrom!.ConfigMapKeyRef is { } cmRef)
        {
            var cm = await store.GetAsync<ConfigMap>(ns, cmRef.Name ?? "", ct).ConfigureAwait(false);
            if (cm?.Data?.GetValueOrDefault(cmRef.Key ?? "") is { } v) return (v, null);
            return cmRef.Optional == true ? (null, null) : (null, $"env {e.Name}: configmap \"{cmRef.Name}\" {(cm is null ? "not found" : $"has no key \"{cmRef.Key}\"")}");
        }
        if (e.ValueFrom.SecretKeyRef is { } sRef)
        {
            var secret = await store.GetAsync<Secret>(ns, sRef.Name ?? "", ct).ConfigureAwait(false);
            if (secret?.Value(sRef.Key ?? "") is { } v) return (v, null);
            return sRef.Optional == true ? (null, null) : (null, $"env {e.Name}: secret \"{sRef.Name}\" {(secret is null ? "not found" : $"has no key \"{sRef.Key}\"")}");
        }
        return (null, null); // fieldRef/resourceFieldRef describe a pod; there is none to describe
    }

    /// <summary>Kubernetes' $(VAR) expansion in command, args and env values; $$(VAR) escapes it; unknown names stay.</summary>
    internal static string ExpandRefs(string text, IReadOnlyDictionary<string, string> env)
    {
        if (!text.Contains("$(", StringComparison.Ordinal)) return text;
        var sb = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '$' && i + 1 < text.Length && text[i + 1] == '$' && i + 2 < text.Length && text[i + 2] == '(')
            {
                sb.Append("$(");
                i += 2;
                continue;
            }
            if (text[i] == '$' && i + 1 < text.Length && text[i + 1] == '(')
            {
                var close = text.IndexOf(')', i + 2);
                if (close > 0 && env.TryGetValue(text[(i + 2)..close], out var v))
                {
                    sb.Append(v);
                    i = close;
                    continue;
                }
            }
            sb.Append(text[i]);
        }
        return sb.ToString();
    }
}
