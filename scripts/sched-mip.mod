# scripts/sched-mip.mod - the whole placement problem as one MIP, for
# glpsol (scripts/bench-sched.sh): every VM on a compatible host (or left
# unplaced at a price above any fleet's cost), host capacity with
# overcommit, dedicated tenants, anti-affinity, affinity and availability
# targets, at least cost of the hosts that run VMs. The data file comes
# from scripts/sched-mip.py; the same rules as scheduler/state.c.
set H;
set V;
set T;
set G;
set D := {"vcpus", "mem_mib", "disk_gib"};
param cost{H} >= 0;
param usable{H, D} >= 0;
param req{V, D} >= 0;
param L{H} >= 0;            # -ln(1 - availability of the host)
param M > 0;                # price of an unplaced VM
set OK within V cross H;    # up, allowed pool, tags, fits alone
set PIN within OK;          # VMs that keep their host
set DED within T;           # dedicated tenants
set TV{T} within V;         # a tenant's VMs
set AA within G;            # anti-affinity groups
set AF within G;            # affinity groups
set GV{G} within V;         # a group's VMs
param target{G} >= 0;       # -ln(1 - availability target), 0: none
param ord{H} >= 1;          # a host's place in the file
set SYM within V cross V;   # (v, w): interchangeable VMs, v listed first

var x{OK} binary;
var y{H} binary;
var u{V} binary;
var z{DED, H} binary;
var w{AF, H} binary;

minimize total: sum{h in H} cost[h] * y[h] + M * sum{v in V} u[v];
s.t. one{v in V}: sum{(v, h) in OK} x[v, h] + u[v] = 1;
s.t. pinned{(v, h) in PIN}: x[v, h] = 1;
s.t. cap{h in H, d in D}:
	sum{(v, h) in OK} req[v, d] * x[v, h] <= usable[h, d] * y[h];
s.t. open{(v, h) in OK}: x[v, h] <= y[h];
s.t. ded_in{t in DED, (v, h) in OK: v in TV[t]}: x[v, h] <= z[t, h];
s.t. ded_out{t in DED, (v, h) in OK: v not in TV[t]}: x[v, h] + z[t, h] <= 1;
s.t. anti{g in AA, h in H}: sum{(v, h) in OK: v in GV[g]} x[v, h] <= 1;
s.t. aff_in{g in AF, (v, h) in OK: v in GV[g]}: x[v, h] <= w[g, h];
s.t. aff_one{g in AF}: sum{h in H} w[g, h] <= 1;
# Only a group with every member placed must reach its target.
s.t. avail{g in AA: target[g] > 0}:
	sum{(v, h) in OK: v in GV[g]} L[h] * x[v, h]
	>= target[g] * (1 - sum{v in GV[g]} u[v]);
# Interchangeable VMs take hosts in file order (those left out last):
# any placement has a copy like that, so the optimum is the same.
s.t. sym{(v, v2) in SYM}:
	sum{(v, h) in OK} ord[h] * x[v, h] + (card(H) + 1) * u[v]
	<= sum{(v2, h) in OK} ord[h] * x[v2, h] + (card(H) + 1) * u[v2];
solve;
printf "mip cost %.6f unplaced %d\n",
	sum{h in H: sum{(v, h) in OK} x[v, h] > 0.5} cost[h],
	sum{v in V} u[v];
end;
