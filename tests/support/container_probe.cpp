/* container_probe: a static program the Linux containerizer tests run inside
 * their busybox containers, to ask the kernel for what busybox cannot:
 *
 *   container_probe keyctl        keyctl(KEYCTL_GET_KEYRING_ID) (no
 *                                 capability needed: only seccomp stops it)
 *   container_probe personality   personality(0xffffffff)... query only
 *   container_probe getcwd        getcwd()
 *   container_probe alloc MB      allocates and touches MB megabytes
 *   container_probe caps          prints the bounding set (CapBnd)
 *
 * Prints "<name>: ok" or "<name>: <errno name> (<errno>)" and exits 0.
 * Static, so that it runs in any root filesystem. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int report(const char* name, long rc) {
  if (rc < 0)
    printf("%s: %s (%d)\n", name, strerrorname_np(errno), errno);
  else
    printf("%s: ok\n", name);
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 2)
    return 2;
  const char* what = argv[1];
  if (strcmp(what, "keyctl") == 0)
    return report(what, syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */,
                                -3 /* session keyring */, 0));
  if (strcmp(what, "personality") == 0)
    return report(what, syscall(SYS_personality, 0xffffffffUL));
  if (strcmp(what, "getcwd") == 0) {
    char buf[4096];
    return report(what, syscall(SYS_getcwd, buf, sizeof(buf)));
  }
  if (strcmp(what, "alloc") == 0 && argc > 2) {
    size_t mb = strtoul(argv[2], NULL, 10);
    for (size_t i = 0; i < mb; ++i) {
      char* p = static_cast<char*>(malloc(1 << 20));
      if (p == NULL)
        return report(what, -1);
      memset(p, 1, 1 << 20);
    }
    return report(what, 0);
  }
  if (strcmp(what, "caps") == 0) {
    FILE* f = fopen("/proc/self/status", "r");
    char line[256];
    while (f && fgets(line, sizeof(line), f))
      if (strncmp(line, "CapBnd:", 7) == 0)
        fputs(line, stdout);
    return 0;
  }
  return 2;
}
