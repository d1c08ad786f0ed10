// SPDX-License-Identifier: GPL-2.0
/*
 * meshnet_detector: a TEST-ONLY module with planted bugs, proving that the
 * debug guest kernel (vm-test/debug-kernel/) reports each class of bug the
 * VM suites rely on it to catch. Never installed, never part of meshnet.ko.
 *
 * Each bug is triggered on its own by writing its name to
 * /sys/kernel/debug/meshnet_detector/trigger:
 *
 *   oob        KASAN: one-byte write past the end of a kmalloc'ed buffer
 *   uaf        KASAN: read of a kmalloc'ed buffer after kfree()
 *   rcu-sleep  DEBUG_ATOMIC_SLEEP: GFP_KERNEL allocation under rcu_read_lock()
 *   leak       kmemleak: an allocation whose only pointer is dropped
 *   shift      UBSAN: shift exponent larger than the type
 *   kfence-uaf KFENCE: read after kfree() of an object from the KFENCE pool
 *   none       nothing (the control: the kernel must stay quiet)
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/compiler.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/fs.h>
#include <linux/kfence.h>
#include <linux/module.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#define DETECTOR_BUF_SIZE 16

static struct dentry *detector_dir;

static noinline void detector_oob_write(void)
{
	size_t size = DETECTOR_BUF_SIZE;
	char *buf;

	buf = kmalloc(size, GFP_KERNEL);
	if (!buf)
		return;
	/* hide the size from the compiler so the write is not optimised out */
	OPTIMIZER_HIDE_VAR(size);
	buf[size] = 'x';
	kfree(buf);
}

static noinline void detector_uaf_read(void)
{
	char *buf;
	char c;

	buf = kmalloc(DETECTOR_BUF_SIZE, GFP_KERNEL);
	if (!buf)
		return;
	memset(buf, 'a', DETECTOR_BUF_SIZE);
	kfree(buf);
	OPTIMIZER_HIDE_VAR(buf);
	c = READ_ONCE(buf[1]);
	pr_info("read '%c' after free\n", c);
}

static noinline void detector_sleep_in_rcu(void)
{
	void *p;

	rcu_read_lock();
	p = kmalloc(DETECTOR_BUF_SIZE, GFP_KERNEL);
	rcu_read_unlock();
	kfree(p);
}

static noinline void detector_leak(void)
{
	void *p;

	p = kmalloc(DETECTOR_BUF_SIZE * 8, GFP_KERNEL);
	OPTIMIZER_HIDE_VAR(p);
	/* the only reference goes out of scope here */
	pr_info("leaked an object of %d bytes\n", DETECTOR_BUF_SIZE * 8);
}

static noinline void detector_shift(void)
{
	unsigned int shift = 40;
	u32 one = 1;

	OPTIMIZER_HIDE_VAR(shift);
	pr_info("1 << %u = %u\n", shift, one << shift);
}

/* KFENCE samples one allocation per interval: allocate until one is sampled */
static noinline void detector_kfence_uaf(void)
{
	char *buf = NULL;
	int i;

	for (i = 0; i < 4000; i++) {
		buf = kmalloc(DETECTOR_BUF_SIZE * 2, GFP_KERNEL);
		if (!buf || is_kfence_address(buf))
			break;
		kfree(buf);
		buf = NULL;
		usleep_range(2000, 3000);
	}
	if (!buf) {
		pr_err("no KFENCE allocation after %d tries\n", i);
		return;
	}
	pr_info("KFENCE object after %d allocations\n", i + 1);
	kfree(buf);
	OPTIMIZER_HIDE_VAR(buf);
	pr_info("read '%c' after free\n", READ_ONCE(buf[0]));
}

static void detector_none(void)
{
}

static const struct detector_bug {
	const char *name;
	void (*trigger)(void);
} detector_bugs[] = {
	{ "oob", detector_oob_write },
	{ "uaf", detector_uaf_read },
	{ "rcu-sleep", detector_sleep_in_rcu },
	{ "leak", detector_leak },
	{ "shift", detector_shift },
	{ "kfence-uaf", detector_kfence_uaf },
	{ "none", detector_none },
};

static ssize_t detector_trigger_write(struct file *file,
				      const char __user *ubuf, size_t len,
				      loff_t *ppos)
{
	char name[32];
	size_t i;

	if (len == 0 || len >= sizeof(name))
		return -EINVAL;
	if (copy_from_user(name, ubuf, len))
		return -EFAULT;
	name[len] = '\0';
	strim(name);

	for (i = 0; i < ARRAY_SIZE(detector_bugs); i++) {
		if (strcmp(name, detector_bugs[i].name))
			continue;
		pr_info("triggering planted bug '%s'\n", name);
		detector_bugs[i].trigger();
		pr_info("planted bug '%s' done\n", name);
		return len;
	}
	pr_err("unknown planted bug '%s'\n", name);
	return -EINVAL;
}

static const struct file_operations detector_trigger_fops = {
	.owner = THIS_MODULE,
	.write = detector_trigger_write,
	.llseek = noop_llseek,
};

static int __init detector_init(void)
{
	detector_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("trigger", 0200, detector_dir, NULL,
			    &detector_trigger_fops);
	return 0;
}

static void __exit detector_exit(void)
{
	debugfs_remove_recursive(detector_dir);
}

module_init(detector_init);
module_exit(detector_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Test-only planted bugs for the meshnet debug-kernel suites");
