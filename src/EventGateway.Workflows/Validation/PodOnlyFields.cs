using EventGateway.Model;
using EventGateway.Model.Manifests;

namespace EventGateway.Workflows.Validation;

/// <summary>
/// Fields that only mean something when a step is a Kubernetes pod (podSpecPatch, initContainers, hostAliases,
/// dnsConfig). Sandboxed processes and containers cannot honour them, so they are refused at load; with
/// <c>--executor kubernetes</c> the pod carries them and they are accepted. As with <see cref="ResourceKinds"/>, the
/// checks are static and shared by every mode, so the mode travels with the call: validation inside
/// <see cref="Accept"/> (the parser and submitter of a service whose steps are pods) lets them through.
/// </summary>
public static class PodOnlyFields
{
    private static readonly AsyncLocal<bool> Pods = new();

    /// <summary>True inside <see cref="Accept"/>.</summary>
    public static bool Accepted => Pods.Value;

    /// <summary>Until disposed, validation on this flow accepts the pod-only fields.</summary>
    public static IDisposable Accept()
    {
        var before = Pods.Value;
        Pods.Value = true;
        return new Restore(before);
    }

    /// <summary><paramref name="inner"/>, validating with the pod-only fields accepted (a Sensor's trigger workflows too).</summary>
    public static IKindValidator Accepting(IKindValidator inner) => new AcceptingValidator(inner);

    private sealed class AcceptingValidator(IKindValidator inner) : IKindValidator
    {
        public IReadOnlyCollection<Type> Kinds => inner.Kinds;

        public void Validate(Resource resource, Action<string, string> fail)
        {
            using var _ = Accept();
            inner.Validate(resource, fail);
        }
    }

    private sealed class Restore(bool before) : IDisposable
    {
        public void Dispose() => Pods.Value = before;
    }
}

/// <summary>Registered when steps are pods (<c>--executor kubernetes</c>): the submitter then accepts <see cref="PodOnlyFields"/>.</summary>
public sealed class StepsArePods;
