/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fanout.c - the classic-BPF program of a live --workers fanout group (PACKET_FANOUT_CBPF,
 * Linux >= 4.2): it returns a hash of the unordered IP address pair modulo the worker count, so
 * every connection between two hosts (an FTP session's control and its usual data connections,
 * which PACKET_FANOUT_HASH spreads by connection) reaches one socket, as ftpi_shard_of() does
 * for files. It is not the same hash as ftpi_shard_of(): only "same pair, same worker" matters.
 *
 * The kernel runs a fanout program on the socket buffer, not on what libpcap shows: for a
 * received packet the data starts at the network header, for a sent one at the link header,
 * and with `-i any` the cooked SLL/SLL2 header is never in it. So the program reads through the
 * kernel's own view, the same for every link type (Ethernet, loopback, raw IP devices, `any`):
 * the protocol from SKF_AD_PROTOCOL and the addresses at SKF_NET_OFF (the network header).
 * The first VLAN tag is already out of the data (the kernel moves it to the buffer's tag); a
 * second one (802.1Q or 802.1ad) is at the network header and is stepped over. IPv4 hashes
 * source ^ destination; IPv6 the XOR of the eight 32-bit words of both addresses; XOR makes the
 * pair unordered. The XOR is then mixed (fold, multiply, fold) before the modulo. Anything else
 * (ARP, non-IP, a third tag) goes to worker 0.
 */
#include <linux/filter.h>
#include <stddef.h>

#include "cli.h"

#define ETH_P_IPV4 0x0800
#define ETH_P_IPV6_ 0x86dd
#define ETH_P_8021Q_ 0x8100
#define ETH_P_8021AD_ 0x88a8

struct prog {
	struct sock_filter *f;
	size_t n, max;
};

static void emit(struct prog *p, uint16_t code, uint8_t jt, uint8_t jf, uint32_t k)
{
	if (p->n < p->max)
		p->f[p->n] = (struct sock_filter){code, jt, jf, k};
	p->n++;
}

/* Hash the 32-bit words [off, off + 4 * words) after the network header (plus X, the tag),
 * XORed together, into A, then mix and take it modulo n and return it. */
static void hash_words(struct prog *p, uint32_t off, unsigned words, unsigned n)
{
	for (unsigned i = 0; i < words; i++) {
		emit(p, BPF_LD | BPF_W | BPF_IND, 0, 0, (uint32_t)SKF_NET_OFF + off + 4 * i);
		emit(p, BPF_ST, 0, 0, i); /* M[i] */
	}
	emit(p, BPF_LD | BPF_MEM, 0, 0, 0);
	for (unsigned i = 1; i < words; i++) {
		emit(p, BPF_LDX | BPF_MEM, 0, 0, i);
		emit(p, BPF_ALU | BPF_XOR | BPF_X, 0, 0, 0);
	}
	emit(p, BPF_ST, 0, 0, 0); /* A ^= A >> 16; A *= golden; A ^= A >> 16 */
	emit(p, BPF_ALU | BPF_RSH | BPF_K, 0, 0, 16);
	emit(p, BPF_LDX | BPF_MEM, 0, 0, 0);
	emit(p, BPF_ALU | BPF_XOR | BPF_X, 0, 0, 0);
	emit(p, BPF_ALU | BPF_MUL | BPF_K, 0, 0, 0x9e3779b1u);
	emit(p, BPF_ST, 0, 0, 0);
	emit(p, BPF_ALU | BPF_RSH | BPF_K, 0, 0, 16);
	emit(p, BPF_LDX | BPF_MEM, 0, 0, 0);
	emit(p, BPF_ALU | BPF_XOR | BPF_X, 0, 0, 0);
	emit(p, BPF_ALU | BPF_MOD | BPF_K, 0, 0, n);
	emit(p, BPF_RET | BPF_A, 0, 0, 0);
}

size_t fanout_prog_build(unsigned n, struct sock_filter *out, size_t max)
{
	struct prog p = {out, 0, max};

	n = n ? n : 1;
	/* 0 */ emit(&p, BPF_LDX | BPF_IMM, 0, 0, 0);
	/* 1 */ emit(&p, BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)SKF_AD_OFF + SKF_AD_PROTOCOL);
	/* 2 */ emit(&p, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, ETH_P_8021Q_);  /* -> 4 */
	/* 3 */ emit(&p, BPF_JMP | BPF_JEQ | BPF_K, 0, 2, ETH_P_8021AD_); /* -> 4 : 6 */
	/* 4 */ emit(&p, BPF_LD | BPF_H | BPF_ABS, 0, 0, (uint32_t)SKF_NET_OFF + 2); /* inner type */
	/* 5 */ emit(&p, BPF_LDX | BPF_IMM, 0, 0, 4);
	/* 6 */ emit(&p, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, ETH_P_IPV4); /* -> 7 : 8 */
	/* 7 */ emit(&p, BPF_JMP | BPF_JA, 0, 0, 2);                  /* -> 10 (IPv4) */
	/* 8 */ emit(&p, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, ETH_P_IPV6_); /* -> 9 : 10 + v4 */
	size_t v4_len;
	/* 9 */ emit(&p, BPF_JMP | BPF_JA, 0, 0, 0); /* -> IPv6, patched below */
	size_t ja_v6 = p.n - 1;
	size_t v4 = p.n;
	hash_words(&p, 12, 2, n); /* IPv4: source, destination */
	v4_len = p.n - v4;
	/* 8's false branch (not IPv6) must land after IPv4's code: put the default there and send
	 * the IPv6 jump past it */
	emit(&p, BPF_RET | BPF_K, 0, 0, 0); /* not IP: worker 0 */
	size_t v6 = p.n;
	hash_words(&p, 8, 8, n); /* IPv6: both addresses */
	if (p.n > max)
		return 0;
	/* 8: not IPv6 -> the default return at v4 + v4_len */
	out[8].jf = (uint8_t)(v4 + v4_len - 9);
	/* 9: -> IPv6 */
	out[ja_v6].k = (uint32_t)(v6 - ja_v6 - 1);
	return p.n;
}
