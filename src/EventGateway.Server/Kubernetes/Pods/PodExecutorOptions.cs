namespace EventGateway.Server.Kubernetes.Pods;

/// <summary><c>egw serve --executor kubernetes</c>: steps as pods of the cluster the client names.</summary>
public sealed class PodExecutorOptions
{
    /// <summary>
    /// The image of the container that uploads a step's outputs (<see cref="PodOutputs"/>): it needs /bin/sh and curl
    /// (<c>--pod-upload-image</c>).
    /// </summary>
    public string UploadImage { get; set; } = "curlimages/curl:8.11.1";

    /// <summary>How often a step's pod is read again should its watch miss a change (also bounds a log follow after the pod ended).</summary>
    public TimeSpan Resync { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long after main ended its outputs may take to upload before the pod is deleted and the outputs count as lost.</summary>
    public TimeSpan UploadGrace { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The cluster when the service does not also read its objects from it (<c>--kubeconfig</c> without <c>--kubernetes</c>); null: <see cref="Hosting.EventGatewayOptions.Kubernetes"/>'s.</summary>
    public KubernetesOptions? Cluster { get; set; }

    public void Validate(EventGateway.Server.Hosting.EventGatewayOptions options)
    {
        if ((options.Kubernetes ?? Cluster) is null)
            throw new ArgumentException("--executor kubernetes needs a cluster: pass --kubernetes (in-cluster config) or --kubeconfig PATH");
        if (options.Kubernetes is null) Cluster!.Validate();
        if (options.ArtifactRepository?.S3 is null)
            throw new ArgumentException("--executor kubernetes needs an S3 artifact repository (--artifact-repository FILE with s3: {endpoint, bucket, accessKeySecret, secretKeySecret}): a step's pod uploads its outputs there, since its files go with the pod");
        if (string.IsNullOrWhiteSpace(UploadImage)) throw new ArgumentException("--pod-upload-image must name an image (with /bin/sh and curl)");
        if (Resync <= TimeSpan.Zero || UploadGrace <= TimeSpan.Zero) throw new ArgumentException("pod resync and upload grace must be positive");
    }
}
