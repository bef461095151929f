using EventGateway.Model;
using EventGateway.Workflows.Volumes;

namespace EventGateway.Workflows.Validation;

public sealed partial class WorkflowValidator
{
    /// <summary>
    /// A container's or script's mounts name a declared volume of a kind steps can mount (<see cref="PodVolumes"/>).
    /// A WorkflowTemplate's templates may mount volumes the workflow using them declares (<paramref name="declaredHere"/> false).
    /// </summary>
    private static void ValidateVolumeMounts(Template t, WorkflowSpec spec, string at, bool declaredHere, Action<string, string> fail)
    {
        var (c, cat) = t.Script is not null ? ((Container)t.Script, $"{at}.script") : (t.Container, $"{at}.container");
        if (c is null) return;
        var i = 0;
        foreach (var (name, path) in ContainerMounts.Of(c))
        {
            var source = PodVolumes.Find(name, t.Volumes, spec);
            if ((declaredHere || source.Kind != VolumeKind.Undeclared) && PodVolumes.Problem(name, source) is { } problem) fail($"{cat}.volumeMounts[{i}].name", problem);
            if (!path.StartsWith('/') || path.Trim('/').Length == 0) fail($"{cat}.volumeMounts[{i}].mountPath", $"'{path}' is not an absolute path below /");
            i++;
        }
    }
}
