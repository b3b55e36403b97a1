# Shared by the tests that run guests on the host's qemu:///system
# (sourced, not run): agent_kvm.sh, agent_console.sh.

vsh() { timeout 60 virsh -q -c qemu:///system "$@"; }

# libvirt_remove DOMAIN-REGEX DIR: destroy and undefine the domains whose
# names match, and remove the storage pools over a path under DIR (the
# test's own); for the EXIT traps.
libvirt_remove() {
	local d p
	for d in $(vsh list --all --name 2>/dev/null | grep -- "$1"); do
		vsh destroy "$d" >/dev/null 2>&1
		vsh undefine "$d" --nvram >/dev/null 2>&1 || vsh undefine "$d" >/dev/null 2>&1
	done
	for p in $(vsh pool-list --all --name 2>/dev/null); do
		case $(vsh pool-dumpxml "$p" 2>/dev/null | sed -n 's:.*<path>\(.*\)</path>.*:\1:p' | head -1) in
		"$2"/*)
			vsh pool-destroy "$p" >/dev/null 2>&1
			vsh pool-undefine "$p" >/dev/null 2>&1 ;;
		esac
	done
}
