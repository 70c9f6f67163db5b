#!/usr/bin/perl
# csvcol.pl FILE [COLUMN...] - print the named columns of an RFC 4180 CSV
# file, one record per line, fields separated by TAB, with CR, LF, TAB
# and backslash escaped (\r \n \t \\).  With no column, print the header.
# An oracle for the CLI tests, independent of patchphot's libcsv reader.
use strict;
use warnings;

my ($file, @want) = @ARGV;
open(my $fh, '<:raw', $file) or die "csvcol: cannot open '$file': $!\n";
my $text = do { local $/; <$fh> };
close $fh;

my (@records, @row);
pos($text) = 0;
while (pos($text) < length $text) {
    $text =~ /\G(?:"((?:[^"]|"")*)"|([^,"\n]*))(,|\n|\z)/gc
        or die "csvcol: '$file': bad CSV near byte " . pos($text) . "\n";
    my ($quoted, $bare, $end) = ($1, $2, $3);
    push @row, defined $quoted ? $quoted =~ s/""/"/gr : $bare;
    if ($end ne ',') {
        push @records, [@row];
        @row = ();
    }
}
my @header = @{ shift @records };
if (!@want) {
    print join("\t", @header), "\n";
    exit 0;
}
my %index;
@index{@header} = 0 .. $#header;
for my $c (@want) {
    die "csvcol: '$file': no column '$c'\n" unless exists $index{$c};
}
for my $r (@records) {
    my @out = map {
        my $v = $r->[ $index{$_} ] // '';
        $v =~ s/\\/\\\\/g;
        $v =~ s/\r/\\r/g;
        $v =~ s/\n/\\n/g;
        $v =~ s/\t/\\t/g;
        $v
    } @want;
    print join("\t", @out), "\n";
}
