using System.Text.Json;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Workflows.S3;
using EventGateway.Workflows.Store;

namespace EventGateway.Workflows.Artifacts;

/// <summary>
/// Which repository a workflow's artifacts go to, decided once when it starts, as Argo does:
/// its <c>artifactRepositoryRef</c> (ConfigMap, default "artifact-repositories"; key, default the ConfigMap's
/// <c>workflows.argoproj.io/default-artifact-repository</c> annotation); else the namespace's
/// "artifact-repositories" ConfigMap when it names a default key; else the service-wide repository
/// (<c>egw serve --artifact-repository</c>); else the embedded local repository.
/// </summary>
public static class ArtifactRepositories
{
    public const string DefaultConfigMap = "artifact-repositories";
    public const string DefaultKeyAnnotation = "workflows.argoproj.io/default-artifact-repository";

    /// <summary>The repository for a workflow about to start, or why there is none to use (the workflow then ends in Error).</summary>
    public static async Task<(ArtifactRepositoryRefStatus? Resolved, string? Error)> ResolveAsync(
        IResourceStore store, Workflow wf, ArtifactRepository? serviceDefault, CancellationToken ct)
    {
        var ns = wf.NamespaceOrDefault;
        var spec = wf.Status?.StoredWorkflowTemplateSpec ?? wf.Spec;
        if (spec.ArtifactRepositoryRef is { } r)
        {
            var name = string.IsNullOrEmpty(r.ConfigMap) ? DefaultConfigMap : r.ConfigMap;
            var cm = await store.GetAsync<ConfigMap>(ns, name, ct).ConfigureAwait(false);
            if (cm is null) return (null, $"failed to find artifact repository: configmap \"{name}\" not found in namespace \"{ns}\"");
            return FromConfigMap(cm, r.Key);
        }
        if (await store.GetAsync<ConfigMap>(ns, DefaultConfigMap, ct).ConfigureAwait(false) is { } namespaceDefault
            && namespaceDefault.Metadata.Annotations?.ContainsKey(DefaultKeyAnnotation) == true)
            return FromConfigMap(namespaceDefault, null);
        return serviceDefault is null ? (null, null) : (new ArtifactRepositoryRefStatus { Default = true, ArtifactRepository = serviceDefault }, null);
    }

    private static (ArtifactRepositoryRefStatus?, string?) FromConfigMap(ConfigMap cm, string? key)
    {
        var name = cm.Metadata.Name;
        key = string.IsNullOrEmpty(key) ? cm.Metadata.Annotations?.GetValueOrDefault(DefaultKeyAnnotation) : key;
        if (string.IsNullOrEmpty(key))
            return (null, $"failed to find artifact repository: configmap \"{name}\" has no annotation {DefaultKeyAnnotation}; set artifactRepositoryRef.key");
        if (cm.Data?.GetValueOrDefault(key) is not { } yaml) return (null, $"failed to find artifact repository: configmap \"{name}\" has no key \"{key}\"");
        try
        {
            var repo = Parse(yaml);
            return (new ArtifactRepositoryRefStatus { ConfigMap = name, Key = key, Namespace = cm.Metadata.Namespace, ArtifactRepository = repo }, null);
        }
        catch (ArtifactException e)
        {
            return (null, $"invalid artifact repository in configmap \"{name}\" key \"{key}\": {e.Message}");
        }
    }

    /// <summary>
    /// Reads the service-wide repository: a file holding Argo's <c>artifactRepository</c> value (e.g. <c>s3: {...}</c>),
    /// or a whole workflow-controller-configmap ConfigMap manifest, whose <c>data.artifactRepository</c> is used.
    /// </summary>
    public static ArtifactRepository ReadFile(string path)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new ArtifactException($"{path}: {e.Message}", e); }
        try
        {
            if (new ManifestParser(ManifestValidator.MetadataOnly).Read(text, path) is [ConfigMap cm])
                return Parse(cm.Data?.GetValueOrDefault("artifactRepository") ?? throw new ArtifactException("the ConfigMap has no data.artifactRepository"));
        }
        catch (ManifestException) { } // not a manifest: the repository itself
        catch (ArtifactException e) { throw new ArtifactException($"{path}: {e.Message}", e); }
        try { return Parse(text); }
        catch (ArtifactException e) { throw new ArtifactException($"{path}: {e.Message}", e); }
    }

    /// <summary>Parses and checks one repository (YAML or JSON); the error names the field.</summary>
    public static ArtifactRepository Parse(string yaml)
    {
        ArtifactRepository? repo;
        try
        {
            var docs = YamlToJson.Convert(yaml);
            if (docs.Count != 1) throw new ArtifactException("expected one YAML document");
            repo = JsonSerializer.Deserialize<ArtifactRepository>(docs[0].Json, Json.Options);
        }
        catch (YamlToJson.SyntaxError e) { throw new ArtifactException($"not YAML: {e.Message}", e); }
        catch (JsonException e)
        {
            var (path, reason) = ManifestParser.Explain(e);
            throw new ArtifactException($"{path}: {reason}", e);
        }
        var problems = new List<string>();
        if (repo is null) problems.Add("missing: set s3");
        else Validate(repo, (path, reason) => problems.Add($"{path}: {reason}"));
        return problems.Count == 0 ? repo! : throw new ArtifactException(string.Join("; ", problems));
    }

    public static void Validate(ArtifactRepository repo, Action<string, string> fail)
    {
        foreach (var (field, set) in new[] { ("artifactory", repo.Artifactory), ("hdfs", repo.Hdfs), ("oss", repo.Oss), ("gcs", repo.Gcs), ("azure", repo.Azure) })
            if (set is not null) fail(field, "not served here: only s3 (AWS or an S3-compatible server such as MinIO) repositories are supported");
        if (repo.S3 is not { } s3)
        {
            fail("s3", "missing: an artifact repository needs s3 with at least a bucket");
            return;
        }
        ValidateLocation(s3, "s3", requireBucket: true, fail);
    }

    /// <summary>Checks an S3 location: a repository's, or an artifact's own (which may take its bucket from the repository).</summary>
    public static void ValidateLocation(S3ArtifactLocation s3, string at, bool requireBucket, Action<string, string> fail)
    {
        if (requireBucket && string.IsNullOrWhiteSpace(s3.Bucket)) fail($"{at}.bucket", "missing: name the bucket artifacts are stored in");
        if (S3Endpoint.Check(new S3EventSource { Endpoint = s3.Endpoint, Region = s3.Region, Insecure = s3.Insecure }, endpointRequired: false) is { } why)
            fail($"{at}.endpoint", why);
        if ((s3.AccessKeySecret is null) != (s3.SecretKeySecret is null))
            fail(s3.AccessKeySecret is null ? $"{at}.accessKeySecret" : $"{at}.secretKeySecret", "missing: set both accessKeySecret and secretKeySecret, or neither");
        foreach (var (field, sel) in new[] { ("accessKeySecret", s3.AccessKeySecret), ("secretKeySecret", s3.SecretKeySecret), ("sessionTokenSecret", s3.SessionTokenSecret) })
            if (sel is not null && (string.IsNullOrEmpty(sel.Name) || string.IsNullOrEmpty(sel.Key)))
                fail($"{at}.{field}", "needs both name and key of a Secret");
    }
}
