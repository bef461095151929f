using EventGateway.Languages.Expr;
using EventGateway.Model;
using EventGateway.Workflows.Controller;
using EventGateway.Workflows.Store;

namespace EventGateway.Workflows.Artifacts;

/// <summary>
/// Saves a step's output artifacts to, and loads its input artifacts from, the repository the workflow
/// resolved at its start (<see cref="ArtifactRepositories"/>): an artifact's own <c>s3</c> fields override
/// the repository's, and with no S3 anywhere the embedded local repository keeps the files. The saved
/// artifact records its full location, so later steps, retries and a restarted service find it.
/// </summary>
public sealed class ArtifactStorage(LocalArtifactRepository local, SecretResolver secrets, IArtifactGCLedger ledger)
{
    /// <summary>Argo's key prefix when the repository sets no keyFormat.</summary>
    public const string DefaultKeyFormat = "{{workflow.name}}/{{pod.name}}";

    public async Task<Artifact> SaveAsync(Workflow wf, string nodeId, Artifact declared, string hostPath, CancellationToken ct)
    {
        var ns = wf.NamespaceOrDefault;
        Artifact saved;
        try
        {
            if (Locate(wf, declared.S3) is not { } location)
                saved = new Artifact { Name = declared.Name, Path = declared.Path, GlobalName = declared.GlobalName, Local = local.Save(ns, wf.Name, nodeId, declared.Name, hostPath) };
            else
            {
                var work = Directory.CreateTempSubdirectory("egw-artifact-");
                try
                {
                    var (file, objectName) = ArtifactArchive.Pack(hostPath, declared.Name, declared.Archive, work.FullName);
                    location.Key = string.IsNullOrEmpty(location.Key)
                        ? $"{RenderKey(KeyFormat(wf), wf, nodeId).TrimEnd('/')}/{objectName}"
                        : RenderKey(location.Key, wf, nodeId);
                    if (ArtifactKeys.CheckS3(location.Key) is { } why) throw new ArtifactException(why);
                    using var repo = await OpenAsync(ns, location, ct).ConfigureAwait(false);
                    await repo.SaveAsync(location.Key, file, ct).ConfigureAwait(false);
                }
                finally { work.Delete(recursive: true); }
                saved = new Artifact { Name = declared.Name, Path = declared.Path, GlobalName = declared.GlobalName, Archive = declared.Archive, S3 = location };
            }
        }
        catch (ArtifactException e)
        {
            throw new ArtifactException($"failed to save outputs: artifact '{declared.Name}': {e.Message}", e);
        }
        saved.ArtifactGC = declared.ArtifactGC;
        ledger.Record(wf, nodeId, saved, Strategy(wf, declared));
        return saved;
    }

    /// <summary>Fetches an S3 input artifact and unpacks it; returns the host path to stage at the input's path.</summary>
    public async Task<string> LoadAsync(Workflow wf, string nodeId, Artifact input, CancellationToken ct)
    {
        try
        {
            var location = Locate(wf, input.S3)!;
            if (string.IsNullOrEmpty(location.Key)) throw new ArtifactException("s3.key: missing: name the object to load");
            var key = RenderKey(location.Key, wf, nodeId);
            if (ArtifactKeys.CheckS3(key) is { } why) throw new ArtifactException(why);
            var dir = local.InputsDir(wf.NamespaceOrDefault, wf.Name, nodeId);
            Directory.CreateDirectory(dir);
            var target = Path.Combine(dir, Uri.EscapeDataString(input.Name));
            using (var repo = await OpenAsync(wf.NamespaceOrDefault, location, ct).ConfigureAwait(false))
                await repo.LoadAsync(key, target + ".download", ct).ConfigureAwait(false);
            ArtifactArchive.Unpack(target + ".download", target, input.Archive);
            return target;
        }
        catch (ArtifactException e)
        {
            throw new ArtifactException($"failed to load input artifact '{input.Name}': {e.Message}", e);
        }
    }

    /// <summary>The object keys under an artifact's S3 location (a data template's artifactPaths), its key being the prefix.</summary>
    public async Task<List<string>> ListAsync(Workflow wf, Artifact artifact, int limit, CancellationToken ct)
    {
        try
        {
            // As Argo's executor relocates it: without an endpoint of its own, the artifact is a key (prefix) in the
            // workflow's repository, whatever bucket it names (data-transformations.yaml names one and lists the default's).
            var own = artifact.S3;
            if (own is { Endpoint: null or "" } && wf.Status?.ArtifactRepositoryRef?.ArtifactRepository?.S3 is not null)
                own = new S3Artifact { Key = own.Key };
            if (Locate(wf, own) is not { } location) throw new ArtifactException("only an s3 location can be listed");
            var prefix = string.IsNullOrEmpty(location.Key) ? "" : RenderKey(location.Key, wf, "");
            if (prefix.Length > 0 && ArtifactKeys.CheckS3(prefix) is { } why) throw new ArtifactException(why);
            using var repo = await OpenAsync(wf.NamespaceOrDefault, location, ct).ConfigureAwait(false);
            return await repo.ListAsync(prefix, limit, ct).ConfigureAwait(false);
        }
        catch (ArtifactException e)
        {
            throw new ArtifactException($"artifact '{artifact.Name}': {e.Message}", e);
        }
    }

    /// <summary>Where a fetched input artifact (http) of a step is unpacked before it is staged; its directory exists.</summary>
    public string InputTarget(Workflow wf, string nodeId, Artifact input)
    {
        var dir = local.InputsDir(wf.NamespaceOrDefault, wf.Name, nodeId);
        Directory.CreateDirectory(dir);
        return Path.Combine(dir, Uri.EscapeDataString(input.Name));
    }

    /// <summary>Where a local input artifact is; a key outside the workflow's namespace, or one that climbs, is refused.</summary>
    public string LocalPath(Workflow wf, Artifact input, LocalArtifact l)
    {
        try { return local.PathOf(wf.NamespaceOrDefault, l); }
        catch (ArtifactException e) { throw new ArtifactException($"failed to load input artifact '{input.Name}': {e.Message}", e); }
    }

    /// <summary>Deletes a saved artifact from wherever its record says it is.</summary>
    public async Task DeleteAsync(string @namespace, Artifact saved, CancellationToken ct)
    {
        if (saved.Local is { } l)
        {
            if (ArtifactKeys.CheckLocal(@namespace, l.Key) is { } why) throw new ArtifactException($"artifact '{saved.Name}': {why}");
            await local.DeleteAsync(l.Key, ct).ConfigureAwait(false);
        }
        else if (saved.S3 is { Key: { } key } s3)
        {
            if (ArtifactKeys.CheckS3(key) is { } why) throw new ArtifactException($"artifact '{saved.Name}': {why}");
            using var repo = await OpenAsync(@namespace, s3, ct).ConfigureAwait(false);
            await repo.DeleteAsync(key, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Drops the workflow's downloaded inputs: a finished step never reads them again.</summary>
    public void ForgetInputs(string @namespace, string workflow) => local.ForgetInputs(@namespace, workflow);

    /// <summary>The artifact's effective strategy: its own artifactGC, else the workflow's, else Never.</summary>
    public static string Strategy(Workflow wf, Artifact artifact) =>
        artifact.ArtifactGC?.Strategy is { Length: > 0 } own ? own
        : (wf.Status?.StoredWorkflowTemplateSpec ?? wf.Spec).ArtifactGC?.Strategy is { Length: > 0 } s ? s
        : ArtifactGC.Never;

    /// <summary>
    /// The S3 location of an artifact: its own s3 fields, or the workflow's S3 repository's. Null when neither
    /// is S3 (the local repository keeps it); an error when the artifact names a key but there is no bucket.
    /// </summary>
    private static S3Artifact? Locate(Workflow wf, S3Artifact? own)
    {
        var repo = wf.Status?.ArtifactRepositoryRef?.ArtifactRepository?.S3;
        if (own is null && repo is null) return null;
        var l = new S3Artifact { Key = own?.Key };
        // As in Argo, an artifact that names its bucket is a whole location; one that names only a key is in the repository.
        S3ArtifactLocation?[] layers = string.IsNullOrEmpty(own?.Bucket) ? [repo, own] : [own];
        foreach (var s in layers.OfType<S3ArtifactLocation>())
        {
            l.Endpoint = s.Endpoint ?? l.Endpoint;
            l.Bucket = string.IsNullOrEmpty(s.Bucket) ? l.Bucket : s.Bucket;
            l.Region = s.Region ?? l.Region;
            l.Insecure = s.Insecure ?? l.Insecure;
            l.AccessKeySecret = s.AccessKeySecret ?? l.AccessKeySecret;
            l.SecretKeySecret = s.SecretKeySecret ?? l.SecretKeySecret;
            l.SessionTokenSecret = s.SessionTokenSecret ?? l.SessionTokenSecret;
            l.UseSDKCreds = s.UseSDKCreds ?? l.UseSDKCreds;
        }
        if (string.IsNullOrEmpty(l.Bucket))
            throw new ArtifactException("s3 names no bucket and the workflow has no S3 artifact repository: set s3.bucket, an artifactRepositoryRef, " +
                $"the namespace's {ArtifactRepositories.DefaultConfigMap} ConfigMap, or egw serve --artifact-repository");
        return l;
    }

    private static string KeyFormat(Workflow wf)
    {
        var repo = wf.Status?.ArtifactRepositoryRef?.ArtifactRepository?.S3;
        if (repo?.KeyFormat is { Length: > 0 } format) return format;
        return repo?.KeyPrefix is { Length: > 0 } prefix ? $"{prefix.TrimEnd('/')}/{DefaultKeyFormat}" : DefaultKeyFormat;
    }

    /// <summary>Renders a key's {{workflow.*}} and {{pod.name}} tags; an unknown tag is an error, not a literal key.</summary>
    private static string RenderKey(string text, Workflow wf, string nodeId)
    {
        var scope = new VariableScope();
        scope["workflow.name"] = wf.Name;
        scope["workflow.namespace"] = wf.NamespaceOrDefault;
        scope["workflow.uid"] = wf.Metadata.Uid ?? "";
        scope["pod.name"] = nodeId;
        if (wf.Metadata.CreationTimestamp is { } created) WorkflowOperator.CreationTimestamp(scope, created);
        try
        {
            return scope.RenderStrict(text).TrimStart('/');
        }
        catch (Exception e) when (e is UnresolvedVariableException or ExpressionException)
        {
            throw new ArtifactException($"key '{text}': {(e is UnresolvedVariableException u ? $"cannot resolve {{{{{u.Name}}}}}" : e.Message)}", e);
        }
    }

    /// <summary>A client of a whole S3 repository (its bucket), credentials read from <paramref name="ns"/>'s Secrets.</summary>
    public Task<S3BucketRepository> OpenRepositoryAsync(string ns, S3ArtifactRepository repo, CancellationToken ct) =>
        OpenAsync(ns, new S3Artifact
        {
            Endpoint = repo.Endpoint, Bucket = repo.Bucket, Region = repo.Region, Insecure = repo.Insecure, AccessKeySecret = repo.AccessKeySecret,
            SecretKeySecret = repo.SecretKeySecret, SessionTokenSecret = repo.SessionTokenSecret, UseSDKCreds = repo.UseSDKCreds,
        }, ct);

    private async Task<S3BucketRepository> OpenAsync(string ns, S3Artifact location, CancellationToken ct)
    {
        (string, string, string?)? credentials = null;
        try
        {
            if (location.AccessKeySecret is { } access && location.SecretKeySecret is { } secret)
                credentials = (await secrets.RequireAsync(ns, access, "accessKeySecret", ct).ConfigureAwait(false),
                    await secrets.RequireAsync(ns, secret, "secretKeySecret", ct).ConfigureAwait(false),
                    location.SessionTokenSecret is { } token ? await secrets.RequireAsync(ns, token, "sessionTokenSecret", ct).ConfigureAwait(false) : null);
        }
        catch (InvalidOperationException e)
        {
            throw new ArtifactException($"s3://{location.Bucket}/{location.Key}: {e.Message}", e);
        }
        return S3BucketRepository.Open(location, credentials);
    }
}
