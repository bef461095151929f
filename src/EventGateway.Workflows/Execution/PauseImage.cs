using System.Formats.Tar;
using System.Security.Cryptography;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace EventGateway.Workflows.Execution;

/// <summary>
/// egw/pause:HASH, the image of a pod's infra container (and of `egw doctor`'s test container): egw's own launcher,
/// which has a <c>--pause</c> mode, imported from a one-file tar when the engine lacks it (no pause image can be
/// pulled offline). Named by the launcher's hash, so a new egw imports its own.
/// </summary>
internal static class PauseImage
{
    public static readonly string[] Entrypoint = ["/pause", "--pause"];

    public static async Task<string> EnsureAsync(DockerClient docker, CancellationToken ct)
    {
        var launcher = Sandbox.LauncherPath;
        var tag = Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(launcher, ct).ConfigureAwait(false)))[..16];
        var image = $"egw/pause:{tag}";
        if (await ExistsAsync(docker, image, ct).ConfigureAwait(false)) return image;
        using var tar = new MemoryStream();
        await using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            var entry = new PaxTarEntry(TarEntryType.RegularFile, "pause")
            {
                Mode = UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute,
                DataStream = File.OpenRead(launcher),
            };
            await writer.WriteEntryAsync(entry, ct).ConfigureAwait(false);
            await entry.DataStream.DisposeAsync().ConfigureAwait(false);
        }
        tar.Position = 0;
        var errors = new List<string>();
        // The tag goes within Repo: Podman's import ignores Tag (and names the image :latest).
        await docker.Images.CreateImageAsync(new ImagesCreateParameters { FromSrc = "-", Repo = image }, tar, new AuthConfig(),
            new ContainerExecutor.Progress(m => { if (m.Error?.Message is { Length: > 0 } e) lock (errors) errors.Add(e); }), ct).ConfigureAwait(false);
        if (errors.Count > 0 || !await ExistsAsync(docker, image, ct).ConfigureAwait(false))
            throw new IOException($"the pod infra image {image} could not be imported: {(errors.Count > 0 ? string.Join("; ", errors) : "the engine has no such image after the import")}");
        return image;
    }

    private static async Task<bool> ExistsAsync(DockerClient docker, string image, CancellationToken ct)
    {
        try
        {
            await docker.Images.InspectImageAsync(image, ct).ConfigureAwait(false);
            return true;
        }
        catch (DockerImageNotFoundException) { return false; }
        catch (DockerApiException e) when (e.StatusCode == System.Net.HttpStatusCode.NotFound) { return false; }
    }
}
