using EventGateway.Model;

namespace EventGateway.Workflows.Validation;

/// <summary>
/// Argo fields that would change what a workflow does but that the local executor does not implement are refused at
/// load, by name and with the reason, rather than accepted and ignored. Fields that only place or schedule a pod on a
/// cluster (nodeSelector, tolerations, affinity, priority, serviceAccountName, ...) are accepted and have no effect on
/// one machine: they cannot change a step's outcome. The README's "Not supported" list is this file in prose. With steps
/// as pods (<c>--executor kubernetes</c>) the pod-only fields are the pod's (<see cref="PodOnlyFields"/>).
/// </summary>
public sealed partial class WorkflowValidator
{
    private const string NoPods = "steps here are sandboxed processes, not Kubernetes pods";

    /// <summary>Workflow-level fields (spec.*).</summary>
    private static void RefuseUnsupported(WorkflowSpec spec, string at, Action<string, string> fail)
    {
        var pods = PodOnlyFields.Accepted;
        if (spec.PodSpecPatch is not null && !pods)
            fail($"{at}.podSpecPatch", $"not supported: it patches a Kubernetes pod spec, and {NoPods}; set the container's own fields instead (resources.limits.memory, env, securityContext.runAsUser)");
        if (spec.HostNetwork == true)
            fail($"{at}.hostNetwork", "not supported: the steps' network is the service's decision (egw serve --step-network), never a workflow's");
        if (spec.HostAliases is not null && !pods)
            fail($"{at}.hostAliases", "not supported: every sandbox shares egw's read-only /etc/hosts; use the names' addresses, or DNS");
        if (spec.DnsConfig is not null && !pods)
            fail($"{at}.dnsConfig", "not supported: every sandbox uses the host's resolver configuration (egw's shared /etc/resolv.conf)");
        if (spec.DnsPolicy is { Length: > 0 } policy && policy != "ClusterFirst" && policy != "Default")
            fail($"{at}.dnsPolicy", $"'{policy}' is not supported: every sandbox uses the host's resolver configuration");
    }

    /// <summary>Template-level fields, and the kinds of work the local executor cannot do.</summary>
    private static void RefuseUnsupported(Template t, string at, Action<string, string> fail)
    {
        var pods = PodOnlyFields.Accepted;
        if (t.PodSpecPatch is not null && !pods)
            fail($"{at}.podSpecPatch", $"not supported: it patches a Kubernetes pod spec, and {NoPods}; set the container's own fields instead (resources.limits.memory, env, securityContext.runAsUser)");
        if (t.InitContainers is not null && !pods)
            fail($"{at}.initContainers", "not supported: run that work as an earlier step or DAG task, or as a containerSet container the main one depends on");
        if (t.HostAliases is not null && !pods)
            fail($"{at}.hostAliases", "not supported: every sandbox shares egw's read-only /etc/hosts; use the names' addresses, or DNS");
        if (t.Plugin is not null)
            fail($"{at}.plugin", "not supported: executor plugins are Kubernetes sidecars of Argo's agent pod; use an http template or a container step");
        if (t.ArchiveLocation is { } archive && archive.AsObject().Any(p => p.Key != "archiveLogs"))
            fail($"{at}.archiveLocation", "not supported: artifacts go to the workflow's repository (artifactRepositoryRef) or an artifact's own s3 location; archiveLocation may only set archiveLogs (logs stay in the step's directory either way)");
        if (t.Sidecars is { } sidecars)
            for (var i = 0; i < sidecars.Count; i++)
            {
                if (string.IsNullOrEmpty(sidecars[i].Name)) fail($"{at}.sidecars[{i}].name", "missing: every sidecar needs a name");
                else if (sidecars.Take(i).Any(s => s.Name == sidecars[i].Name)) fail($"{at}.sidecars[{i}].name", $"duplicate sidecar name '{sidecars[i].Name}'");
                if (sidecars[i].Command is not { Count: > 0 } && sidecars[i].Args is not { Count: > 0 })
                    fail($"{at}.sidecars[{i}].command", $"missing: the local executor runs commands on the host and cannot use the entrypoint of image '{sidecars[i].Image}'");
                RefuseContainerFields(sidecars[i], $"{at}.sidecars[{i}]", fail);
            }
        if (t.Daemon == true && t.Type is not (TemplateType.Container or TemplateType.Script) && t.TypeCount == 1)
            fail($"{at}.daemon", $"daemon is supported on container and script templates only, not on {t.Type.ToString().ToLowerInvariant()} template '{t.Name}'");
        if (t.Container is { } c) RefuseContainerFields(c, $"{at}.container", fail);
        if (t.Script is { } s) RefuseContainerFields(s, $"{at}.script", fail);
        if (ProbeOf(t) is { } probe && ProbeProblem(probe) is { } why) fail($"{at}.{(t.Script is null ? "container" : "script")}.readinessProbe", why);
        if (t.Data is { } data) ValidateData(data, $"{at}.data", fail);
        ValidateFetchedArtifacts(t.Inputs?.Artifacts, $"{at}.inputs.artifacts", fail);
    }

    private static void RefuseContainerFields(Container c, string at, Action<string, string> fail)
    {
        if (c.Lifecycle is not null)
            fail($"{at}.lifecycle", "not supported: postStart/preStop hooks are not run; put that work in the command");
        if (c.VolumeDevices is not null)
            fail($"{at}.volumeDevices", "not supported: a sandbox gets no block devices");
    }

    /// <summary>The probe egw acts on: a daemon's readinessProbe (others only inform Kubernetes' routing, which there is none of).</summary>
    private static System.Text.Json.Nodes.JsonNode? ProbeOf(Template t) => t.Daemon == true ? (t.Container ?? t.Script)?.ReadinessProbe : null;

    private static string? ProbeProblem(System.Text.Json.Nodes.JsonNode probe)
    {
        if (probe["grpc"] is not null || probe["tcpSocket"] is not null && probe["httpGet"] is null && probe["exec"] is null)
            return "only httpGet and exec readiness probes are supported";
        if (probe["httpGet"] is { } http && http["port"] is null) return "httpGet.port: missing: name the port to probe";
        if (probe["exec"] is { } exec && exec["command"] is not System.Text.Json.Nodes.JsonArray { Count: > 0 }) return "exec.command: missing: give the command to run";
        if (probe["httpGet"] is null && probe["exec"] is null) return "set httpGet or exec";
        return null;
    }

    private static void ValidateData(DataTemplate data, string at, Action<string, string> fail)
    {
        if (data.Source.ArtifactPaths is not { } paths)
            fail($"{at}.source", "missing: artifactPaths is the only data source Argo defines");
        else if (paths.S3 is null)
            fail($"{at}.source.artifactPaths", "only an s3 location can be listed (as in Argo's executor); give s3.bucket and optionally s3.key as the prefix");
        for (var i = 0; i < (data.Transformation?.Count ?? 0); i++)
            if (data.Transformation![i].Expression is not { Length: > 0 })
                fail($"{at}.transformation[{i}].expression", "missing: each transformation step is an expr expression over 'data'");
    }

    /// <summary>ssh://..., or scp-like user@host:path (insecureIgnoreHostKey, which only ssh uses, then has nothing to act on).</summary>
    internal static bool IsSshRepo(string repo) =>
        repo.StartsWith("ssh://", StringComparison.Ordinal) || repo.StartsWith("git+ssh://", StringComparison.Ordinal)
        || !repo.Contains("://", StringComparison.Ordinal) && repo.IndexOf(':') is var colon and > 0 && repo.IndexOf('/') is var slash && (slash < 0 || colon < slash);

    /// <summary>Artifact kinds without a loader here are refused; git and http are checked for what they must give.</summary>
    private static void ValidateFetchedArtifacts(List<Artifact>? artifacts, string at, Action<string, string> fail)
    {
        for (var i = 0; i < (artifacts?.Count ?? 0); i++)
        {
            var a = artifacts![i];
            foreach (var (kind, set) in (ReadOnlySpan<(string, bool)>)[("gcs", a.Gcs is not null), ("oss", a.Oss is not null), ("hdfs", a.Hdfs is not null), ("azure", a.Azure is not null), ("artifactory", a.Artifactory is not null)])
                if (set) fail($"{at}[{i}].{kind}", $"not supported: {kind} artifacts have no driver here; use s3 (any S3-compatible store), http, git or raw");
            if (a.Git is { } git)
            {
                if (string.IsNullOrEmpty(git.Repo)) fail($"{at}[{i}].git.repo", "missing: name the repository to clone");
                if (git.SingleBranch == true && string.IsNullOrEmpty(git.Branch)) fail($"{at}[{i}].git.branch", "missing: singleBranch needs the branch to clone");
                if (git.SshPrivateKeySecret is not null) fail($"{at}[{i}].git.sshPrivateKeySecret", "not supported: clone over https with usernameSecret/passwordSecret (a token), or git://");
                if (git.Repo is { } repo && IsSshRepo(repo)) fail($"{at}[{i}].git.repo", $"'{repo}': ssh clones are not supported; clone over https (usernameSecret/passwordSecret for a token), git:// or file://");
                if (git.Depth is < 0) fail($"{at}[{i}].git.depth", "must not be negative");
            }
            if (a.Http is { } http)
            {
                if (string.IsNullOrEmpty(http.Url)) fail($"{at}[{i}].http.url", "missing: give the URL to fetch");
                else if (!http.Url.Contains("{{", StringComparison.Ordinal) && (!Uri.TryCreate(http.Url, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https")))
                    fail($"{at}[{i}].http.url", $"'{http.Url}' is not an http or https URL");
                if (http.Auth?.ClientCert is not null) fail($"{at}[{i}].http.auth.clientCert", "not supported: use basicAuth or a header");
                if (http.Auth?.OAuth2 is not null) fail($"{at}[{i}].http.auth.oauth2", "not supported: use basicAuth or a header");
            }
        }
    }
}
