namespace EventGateway.Workflows.Execution;

/// <summary>
/// Hands each running step a host uid of its own from a dedicated range (no passwd entry, no files on the
/// host), so RLIMIT_NPROC, which the kernel counts per uid, caps one step's processes rather than all steps',
/// and no two running steps can signal or read each other's processes. A uid is reused only after its step ended.
/// </summary>
public sealed class StepUids
{
    public const int First = 2_000_001;
    private readonly Stack<int> _free = new();
    private readonly HashSet<int> _taken = [];
    private readonly Lock _gate = new();
    private int _next = First;

    /// <summary>A uid no running step holds.</summary>
    public int Take()
    {
        lock (_gate)
        {
            int uid;
            do uid = _free.Count > 0 ? _free.Pop() : _next++;
            while (_taken.Contains(uid)); // held by a step adopted after a restart
            _taken.Add(uid);
            return uid;
        }
    }

    /// <summary>Marks the uid of a step adopted after a restart as held.</summary>
    public void Hold(int uid)
    {
        lock (_gate) _taken.Add(uid);
    }

    public void Release(int uid)
    {
        lock (_gate)
        {
            if (_taken.Remove(uid) && uid < _next) _free.Push(uid);
        }
    }
}
