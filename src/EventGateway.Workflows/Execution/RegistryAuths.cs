using System.Text;
using System.Text.Json;
using Docker.DotNet.Models;

namespace EventGateway.Workflows.Execution;

/// <summary>
/// The credentials of an image's registry, from the workflow's imagePullSecrets: Kubernetes' docker config Secrets
/// (`.dockerconfigjson` = {"auths": {registry: {...}}}, or the older `.dockercfg` = {registry: {...}}), whose entries
/// carry username and password, or `auth` = base64("user:password"). The first Secret naming the registry wins, as
/// the kubelet tries them in order.
/// </summary>
public static class RegistryAuths
{
    public const string DockerHub = "docker.io";

    /// <summary>The registry host an image reference pulls from: its first component when that looks like a host, else Docker Hub.</summary>
    public static string RegistryOf(string image)
    {
        var slash = image.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0) return DockerHub;
        var first = image[..slash];
        return first.Contains('.', StringComparison.Ordinal) || first.Contains(':', StringComparison.Ordinal) || first == "localhost" ? Normalize(first) : DockerHub;
    }

    /// <summary>The auth for <paramref name="image"/> in the given docker config documents, or null (pull anonymously).</summary>
    /// <exception cref="FormatException">A document that is not a docker config.</exception>
    public static AuthConfig? For(string image, IEnumerable<string> dockerConfigs)
    {
        var registry = RegistryOf(image);
        foreach (var config in dockerConfigs)
        {
            JsonElement root;
            try { root = JsonDocument.Parse(config).RootElement; }
            catch (JsonException e) { throw new FormatException($"imagePullSecrets: not a docker config: {e.Message}"); }
            if (root.ValueKind != JsonValueKind.Object) throw new FormatException("imagePullSecrets: not a docker config: not a JSON object");
            var auths = root.TryGetProperty("auths", out var a) && a.ValueKind == JsonValueKind.Object ? a : root;
            foreach (var entry in auths.EnumerateObject())
            {
                if (Normalize(entry.Name) != registry || entry.Value.ValueKind != JsonValueKind.Object) continue;
                var (user, password) = (Text(entry.Value, "username"), Text(entry.Value, "password"));
                if (Text(entry.Value, "auth") is { Length: > 0 } encoded)
                {
                    string decoded;
                    try { decoded = Encoding.UTF8.GetString(Convert.FromBase64String(encoded)); }
                    catch (FormatException) { throw new FormatException($"imagePullSecrets: the auth of registry '{entry.Name}' is not base64 of user:password"); }
                    var colon = decoded.IndexOf(':', StringComparison.Ordinal);
                    if (colon < 0) throw new FormatException($"imagePullSecrets: the auth of registry '{entry.Name}' is not base64 of user:password");
                    (user, password) = (decoded[..colon], decoded[(colon + 1)..]);
                }
                return new AuthConfig { Username = user, Password = password, ServerAddress = entry.Name, IdentityToken = Text(entry.Value, "identitytoken") };
            }
        }
        return null;
    }

    private static string? Text(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    /// <summary>"https://index.docker.io/v1/", "registry-1.docker.io" and "docker.io" are one registry; a scheme and path are not part of the host.</summary>
    private static string Normalize(string registry)
    {
        var host = registry;
        if (host.Contains("://", StringComparison.Ordinal)) host = host[(host.IndexOf("://", StringComparison.Ordinal) + 3)..];
        host = host.Split('/')[0].ToLowerInvariant();
        return host is "index.docker.io" or "registry-1.docker.io" or "registry.hub.docker.com" ? DockerHub : host;
    }
}
