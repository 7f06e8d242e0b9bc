//go:build amd64 && !purego

#include "textflag.h"

// func maskAsm(b []byte, key uint32)
TEXT ·maskAsm(SB), NOSPLIT, $0-28
	CMPB ·useAVX2(SB), $0
	JEQ  sse2
	JMP  ·maskAVX2(SB)

sse2:
	JMP ·maskSSE2(SB)

// func maskAVX2(b []byte, key uint32)
//
// Every block that ends at the end of b is loaded and masked before any
// store that may overlap it, so tails need one overlapping store instead of
// a byte loop: the last 32 bytes are masked in Y5 before the main loop and
// stored after it.
TEXT ·maskAVX2(SB), NOSPLIT, $0-28
	MOVQ b_base+0(FP), DI
	MOVQ b_len+8(FP), BX
	MOVL key+24(FP), AX

	// DX = key for a block that ends at the end of b, i.e. starts at an
	// offset congruent to n mod 4: key rotated right by 8*(n%4).
	MOVL AX, DX
	MOVQ BX, CX
	ANDQ $3, CX
	SHLQ $3, CX
	RORL CX, DX
	CMPQ BX, $32
	JB   small16

	MOVL         AX, X0
	VPBROADCASTD X0, Y0
	MOVL         DX, X6
	VPBROADCASTD X6, Y6
	LEAQ         -32(DI)(BX*1), SI
	VPXOR        (SI), Y6, Y5

	CMPQ BX, $128
	JB   loop32

loop128:
	VPXOR   (DI), Y0, Y1
	VPXOR   32(DI), Y0, Y2
	VPXOR   64(DI), Y0, Y3
	VPXOR   96(DI), Y0, Y4
	VMOVDQU Y1, (DI)
	VMOVDQU Y2, 32(DI)
	VMOVDQU Y3, 64(DI)
	VMOVDQU Y4, 96(DI)
	ADDQ    $128, DI
	SUBQ    $128, BX
	CMPQ    BX, $128
	JAE     loop128

loop32:
	CMPQ    BX, $32
	JBE     last32
	VPXOR   (DI), Y0, Y1
	VMOVDQU Y1, (DI)
	ADDQ    $32, DI
	SUBQ    $32, BX
	JMP     loop32

last32:
	VMOVDQU Y5, (SI)
	VZEROUPPER
	RET

	// 16 to 31 bytes: the first and the last 16 bytes (which may overlap).
small16:
	CMPQ         BX, $16
	JB           small8
	MOVL         AX, X0
	VPBROADCASTD X0, X0
	MOVL         DX, X6
	VPBROADCASTD X6, X6
	VPXOR        (DI), X0, X1
	VPXOR        -16(DI)(BX*1), X6, X2
	VMOVDQU      X1, (DI)
	VMOVDQU      X2, -16(DI)(BX*1)
	VZEROUPPER
	RET

	// 8 to 15 bytes: the first and the last 8 bytes (which may overlap),
	// both loaded before either is stored.
small8:
	CMPQ BX, $8
	JB   bytes
	MOVQ AX, R8
	SHLQ $32, R8
	ORQ  R8, AX
	MOVQ DX, R8
	SHLQ $32, R8
	ORQ  R8, DX
	MOVQ (DI), R9
	MOVQ -8(DI)(BX*1), R10
	XORQ AX, R9
	XORQ DX, R10
	MOVQ R9, (DI)
	MOVQ R10, -8(DI)(BX*1)
	RET

	// Fewer than 8 bytes: one at a time, rotating the key.
bytes:
	TESTQ BX, BX
	JEQ   done
	XORB  AL, (DI)
	RORL  $8, AX
	INCQ  DI
	DECQ  BX
	JMP   bytes

done:
	RET

// func maskSSE2(b []byte, key uint32)
//
// Same structure as maskAVX2 with 16-byte XMM registers; SSE2 memory operands
// must be aligned, so every load is a separate MOVOU.
TEXT ·maskSSE2(SB), NOSPLIT, $0-28
	MOVQ b_base+0(FP), DI
	MOVQ b_len+8(FP), BX
	MOVL key+24(FP), AX

	// DX = key for a block that ends at the end of b, i.e. starts at an
	// offset congruent to n mod 4: key rotated right by 8*(n%4).
	MOVL AX, DX
	MOVQ BX, CX
	ANDQ $3, CX
	SHLQ $3, CX
	RORL CX, DX
	CMPQ BX, $16
	JB   small8

	MOVL   AX, X0
	PSHUFL $0, X0, X0
	MOVL   DX, X6
	PSHUFL $0, X6, X6
	LEAQ   -16(DI)(BX*1), SI
	MOVOU  (SI), X5
	PXOR   X6, X5

	CMPQ BX, $64
	JB   loop16

loop64:
	MOVOU (DI), X1
	MOVOU 16(DI), X2
	MOVOU 32(DI), X3
	MOVOU 48(DI), X4
	PXOR  X0, X1
	PXOR  X0, X2
	PXOR  X0, X3
	PXOR  X0, X4
	MOVOU X1, (DI)
	MOVOU X2, 16(DI)
	MOVOU X3, 32(DI)
	MOVOU X4, 48(DI)
	ADDQ  $64, DI
	SUBQ  $64, BX
	CMPQ  BX, $64
	JAE   loop64

loop16:
	CMPQ  BX, $16
	JBE   last16
	MOVOU (DI), X1
	PXOR  X0, X1
	MOVOU X1, (DI)
	ADDQ  $16, DI
	SUBQ  $16, BX
	JMP   loop16

last16:
	MOVOU X5, (SI)
	RET

	// 8 to 15 bytes: the first and the last 8 bytes (which may overlap),
	// both loaded before either is stored.
small8:
	CMPQ BX, $8
	JB   bytes
	MOVQ AX, R8
	SHLQ $32, R8
	ORQ  R8, AX
	MOVQ DX, R8
	SHLQ $32, R8
	ORQ  R8, DX
	MOVQ (DI), R9
	MOVQ -8(DI)(BX*1), R10
	XORQ AX, R9
	XORQ DX, R10
	MOVQ R9, (DI)
	MOVQ R10, -8(DI)(BX*1)
	RET

	// Fewer than 8 bytes: one at a time, rotating the key.
bytes:
	TESTQ BX, BX
	JEQ   done
	XORB  AL, (DI)
	RORL  $8, AX
	INCQ  DI
	DECQ  BX
	JMP   bytes

done:
	RET

// func hasAVX2() bool
TEXT ·hasAVX2(SB), NOSPLIT, $0-1
	// Maximum standard CPUID leaf must be at least 7.
	XORL  AX, AX
	XORL  CX, CX
	CPUID
	CMPL  AX, $7
	JB    no

	// Leaf 1: ECX bit 27 (OSXSAVE) and bit 28 (AVX).
	MOVL  $1, AX
	XORL  CX, CX
	CPUID
	ANDL  $0x18000000, CX
	CMPL  CX, $0x18000000
	JNE   no

	// XCR0 bits 1 (SSE state) and 2 (AVX state): the OS saves YMM registers.
	XORL   CX, CX
	XGETBV
	ANDL   $6, AX
	CMPL   AX, $6
	JNE    no

	// Leaf 7, subleaf 0: EBX bit 5 (AVX2).
	MOVL  $7, AX
	XORL  CX, CX
	CPUID
	ANDL  $0x20, BX
	JZ    no
	MOVB  $1, ret+0(FP)
	RET

no:
	MOVB $0, ret+0(FP)
	RET
